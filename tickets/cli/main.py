"""Entry point. Subcommands live in their own modules and load lazily, so `tickets --help`
never imports torch, pandas or duckdb."""
from __future__ import annotations

import importlib
import os
import sys

import click

from registry.errors import UserError

# name -> "module:attribute"; each module owns one command or command group.
COMMANDS = {
    "train": ("tickets.cli.train:train", "Train one network by hand (dense or pruned) into a run directory."),
    "run": ("tickets.cli.study:run_one", "Run one cell through the registry (deduped like any study)."),
    "study": ("tickets.cli.study:study", "Plan, run, inspect and cancel declared studies."),
    "models": ("tickets.cli.models:models", "List models with their prunable weight counts and layers."),
    "datasets": ("tickets.cli.models:datasets", "List datasets, where their files go, and whether they are present."),
    "ratios": ("tickets.cli.ratios:ratios", "Print per-layer keep ratios of a ratio rule for a model."),
    "methods": ("tickets.cli.catalog:methods", "List pruning methods with each option and its default."),
    "checks": ("tickets.cli.catalog:checks", "List sanity checks and what each changes."),
    "rules": ("tickets.cli.catalog:rules", "List layer-wise ratio rules."),
    "sql": ("tickets.cli.query:sql", "Run read-only SQL over every run in the store."),
    "runs": ("tickets.cli.runs_rm:runs", "List, show and remove runs in the store."),
    "store": ("tickets.cli.query:store", "Export, import and re-ingest the results store."),
    "report": ("tickets.cli.report:report", "Render a declared report (paper tables, quickstart)."),
    "figure": ("tickets.cli.report:figure", "Draw a figure (Figure 3; accuracy, curves, size, keep ratios of any runs)."),
    "export": ("tickets.cli.export:export", "Write finished runs to TensorBoard, MLflow or W&B (idempotent)."),
    "calibrate": ("tickets.cli.calibrate:calibrate", "Measure training images/s on a CPU or GPU for cost projections."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), envvar="TICKETS_HOME", default=".tickets",
              show_default=True, help="Where the store and run directories live (env TICKETS_HOME).")
@click.option("--plugin", "plugins", multiple=True, metavar="MODULE|FILE.py",
              help="Import a module of your own models, datasets, methods or checks here and in every "
                   "worker (repeatable; env TICKETS_PLUGINS, comma-separated).")
@click.version_option(package_name="tickets")
@click.pass_context
def cli(ctx: click.Context, home: str, plugins: tuple[str, ...]) -> None:
    """Declarative experiments for neural-network pruning research.

    Declare a study, run only what is missing, render the paper's tables, query every run with SQL.
    """
    ctx.obj = {"home": os.path.abspath(home)}
    if plugins or os.environ.get("TICKETS_PLUGINS"):
        from registry import plugins as plugin_names

        if plugins:  # through the environment, so the plan and every worker it starts import them
            os.environ[plugin_names.ENV] = ",".join(plugin_names.merge(plugin_names.from_env(),
                                                                       plugin_names.resolve(plugins)))
        # and here, so `tickets models`, `train`, `methods`... know the plugins' names too
        plugin_names.import_plugins(plugin_names.from_env())


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings reach users as 'warning: ...', not as a source file, line number and code line."""
    return f"warning: {message}\n"


def main() -> None:
    import warnings

    warnings.formatwarning = _one_line_warning
    # the Python API's NoStoreWarning: commands say where they looked in their own words
    warnings.filterwarnings("ignore", message="no store at ")
    try:
        cli(prog_name="tickets")
    except UserError as exc:  # raised outside click's invoke (e.g. during lazy import)
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
