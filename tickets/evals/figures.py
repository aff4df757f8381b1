"""The reliability diagram of one network: accuracy per confidence bin against the diagonal,
bar widths the bins, the gap to perfect calibration shaded (and said so in the legend), the bin
counts underneath; a one-line title ("VGG19 on CIFAR-10, SNIP 90%, ECE 3.10%"; two lines when it
would not fit the width); PNG and PDF alike
(matplotlib, Agg, the reports' print rc: embeddable Type 42 fonts)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence


def reliability_diagram(bins: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = "",
                        ece: float | None = None) -> Path:
    from registry.report.figures import _pyplot, _save
    from registry.report.style import FigureOptions, rc

    plt = _pyplot()
    context = plt.rc_context(rc(FigureOptions()))
    context.__enter__()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(3.3, 4.0), sharex=True, layout="constrained",
                                      gridspec_kw={"height_ratios": (3, 1)})
    try:
        shaded = False
        for b in bins:
            width, left = b["hi"] - b["lo"], b["lo"]
            if not b["count"]:
                continue
            top.bar(left, b["accuracy"], width=width, align="edge", color="#4c72b0", edgecolor="black",
                    linewidth=0.5, label="accuracy" if left == min(x["lo"] for x in bins if x["count"]) else None)
            gap_lo, gap_hi = sorted((b["accuracy"], b["confidence"]))
            top.bar(left, gap_hi - gap_lo, bottom=gap_lo, width=width, align="edge", color="#dd8452",
                    alpha=0.45, edgecolor="none",
                    label=None if shaded else "gap: |accuracy − confidence|")
            shaded = True
            bottom.bar(left, b["count"], width=width, align="edge", color="grey", edgecolor="black", linewidth=0.5)
        top.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
        top.set_xlim(0, 1)
        top.set_ylim(0, 1)
        top.set_ylabel("accuracy")
        top.legend(loc="upper left", fontsize=7, frameon=False)
        heading = ", ".join(part for part in (title, f"ECE {100 * ece:.2f}%" if ece is not None else "") if part)
        _fit_title(fig, top, heading)
        bottom.set_yscale("log")
        bottom.set_xlabel("confidence (max softmax)")
        bottom.set_ylabel("samples")
        return _save(fig, Path(path))
    finally:
        plt.close(fig)
        context.__exit__(None, None, None)


def _fit_title(fig: Any, axes: Any, heading: str) -> None:
    """One line when it fits the figure's width, else broken after the network ("VGG19 on CIFAR-10,"
    / "SNIP 90%, ECE 3.10%"): a long title would otherwise run off both edges."""
    title = axes.set_title(heading, fontsize=8)
    renderer = fig.canvas.get_renderer()
    if title.get_window_extent(renderer).width > 0.95 * fig.bbox.width and ", " in heading:
        network, rest = heading.split(", ", 1)
        title.set_text(f"{network},\n{rest}")
