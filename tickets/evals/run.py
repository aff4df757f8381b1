"""Run one evaluation stage: load a finished training stage's final weights, measure, write files.

Files written in the eval stage's own run directory:
- `evals.json`: [{"eval", "metric", "value"}], also returned in result.json's "evals" (what the
  registry ingests into the `evals` table, one row per metric);
- calibration: `reliability.json` (the 15 bins) and `reliability.png` (the diagram).

The training run is read, never written: its `stage.json` says how to rebuild the network and
its newest checkpoint of the final phase ("pretrain" for the dense network, "retrain" for a
ticket) holds the trained, masked weights."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from registry.errors import UserError

FINAL_PHASE = {"pretrain": "pretrain", "ticket": "retrain"}
EVALS_FILE = "evals.json"


def final_weights(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the training stage's stage.json, its final state dict). A run that is missing, failed or
    unfinished is a one-line UserError naming it."""
    import torch

    from tickets.train.checkpoint import list_checkpoints

    run_dir = Path(run_dir)
    if not (run_dir / "stage.json").exists():
        raise UserError(f"the evaluated run {run_dir.name} does not exist ({run_dir} has no stage.json)")
    if (run_dir / "error.json").exists() and not (run_dir / "result.json").exists():
        reason = json.loads((run_dir / "error.json").read_text()).get("reason", "unknown failure")
        raise UserError(f"the evaluated run {run_dir.name} failed: {reason}")
    if not (run_dir / "result.json").exists():
        raise UserError(f"the evaluated run {run_dir.name} has not finished (no result.json)")
    stage = json.loads((run_dir / "stage.json").read_text())
    phase = FINAL_PHASE.get(stage.get("kind"))
    if phase is None:
        raise UserError(f"run {run_dir.name} is a {stage.get('kind')!r} stage; only trained networks "
                        f"({', '.join(FINAL_PHASE)}) can be evaluated")
    checkpoints = list_checkpoints(run_dir, phase)
    if not checkpoints:
        raise UserError(f"the evaluated run {run_dir.name} has no {phase} checkpoint in {run_dir / phase}")
    epoch, path = checkpoints[-1]
    state = torch.load(path, map_location="cpu", weights_only=True)
    return stage, state["model"]


def trained_network(run_dir: Path, device=None):
    """(network in eval mode with the final weights on `device`, the run's stage.json)."""
    import torch

    from tickets.data import dataset_info
    from tickets.models import build_model

    stage, weights = final_weights(run_dir)
    spec = stage["spec"]
    torch.manual_seed(int(spec.get("seed", 0)))
    net = build_model(spec["model"], dataset_info(spec["dataset"]), **dict(spec.get("model_options") or {}))
    net.load_state_dict(weights)
    return net.to(device or "cpu").eval(), stage


def logits_of(net, images, info, batch_size: int = 1000):
    """Logits (float64, on the CPU) of uint8 images [N, C, H, W] under the dataset's normalisation,
    computed in fp32 on the network's device."""
    import torch

    from tickets.train.batches import normalise, normaliser

    device = next(net.parameters()).device
    scale, shift = normaliser(info, device)
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].to(device)
            out.append(net(normalise(batch, scale, shift)).double().cpu())
    return torch.cat(out) if out else torch.zeros(0, info.num_classes, dtype=torch.float64)


def test_logits(net, data, batch_size: int = 1000):
    """(logits, labels) of the whole test set; a file-backed dataset streams it (eval transform)."""
    import torch

    from tickets.train.batches import eval_batches, is_streaming

    if not is_streaming(data):
        return logits_of(net, data.x_test, data.info, batch_size), data.y_test
    device = next(net.parameters()).device
    out, labels = [], []
    with torch.no_grad():
        for xb, yb in eval_batches(data, batch_size, device):
            out.append(net(xb).double().cpu())
            labels.append(yb.cpu())
    if not out:
        return torch.zeros(0, data.info.num_classes, dtype=torch.float64), torch.zeros(0, dtype=torch.int64)
    return torch.cat(out), torch.cat(labels)


def test_images(data, n: int | None):
    """The first `n` (all when None) test images as uint8 [n, C, H, W] on the CPU, and labels."""
    from tickets.train.batches import is_streaming

    if not is_streaming(data):
        n = n or len(data.x_test)
        return data.x_test[:n], data.y_test[:n]
    from tickets.train.streaming import StreamingLoader

    import torch

    n = min(n or data.num_test, data.num_test)
    loader = StreamingLoader(data, max(n, 1), device=torch.device("cpu"), train=False)
    reader = loader.reader
    item = reader[(list(range(n)), list(range(n)), None, False)]
    if "error" in item:
        raise UserError(item["error"])
    return item["images"], item["labels"]


def run_eval(spec: Mapping[str, Any], rundir: Path, run_dir: Path | None,
             report: Callable[[Mapping[str, Any]], None] | None = None, *, data_root=None,
             device=None) -> dict[str, Any]:
    """Evaluate the training run in `run_dir` on `device` (the GPU when there is one)."""
    import torch

    from tickets.train.loop import resolve_device

    from tickets.data import load_dataset
    from tickets.evals import metrics
    from tickets.evals.specs import parse_eval

    started = time.perf_counter()
    if run_dir is None:
        raise UserError("an evaluation needs the run directory of the stage it evaluates")
    evaluation = parse_eval(spec["eval"])
    label = evaluation.label()
    rundir = Path(rundir)
    rundir.mkdir(parents=True, exist_ok=True)
    if report is not None:
        report({"event": "phase", "phase": f"eval {label}", "epochs": 0})
    device = resolve_device(device)
    net, stage = trained_network(run_dir, device)
    run_spec = stage["spec"]
    data = load_dataset(run_spec["dataset"], root=data_root)
    seed = int(spec.get("seed", run_spec.get("seed", 0)))

    if evaluation.name == "calibration":
        logits, y_test = test_logits(net, data)
        values = metrics.calibration(logits, y_test, evaluation.bins)
        bins = metrics.reliability_bins(logits, y_test, evaluation.bins)
        from registry.atomic import write_json
        from tickets.evals.figures import reliability_diagram

        write_json(rundir / "reliability.json", bins)
        for suffix in ("png", "pdf"):  # the PDF for a paper, the PNG for a page
            reliability_diagram(bins, rundir / f"reliability.{suffix}", title=_title(run_spec, stage),
                                ece=values["ece"])
    elif evaluation.name == "ood":
        from tickets.evals.oodsets import ood_images

        in_logits = test_logits(net, data)[0]
        out_logits = logits_of(net, ood_images(evaluation.dataset, data.info, seed=seed, root=data_root), data.info)
        values = metrics.ood(in_logits, out_logits)
    else:
        from tickets.evals.attacks import PixelModel, adversarial_accuracy, make_attack

        model = PixelModel(net, data.info.mean, data.info.std).to(device).eval()
        x_test, y_test = test_images(data, evaluation.samples)
        images, labels = (x_test.float() / 255.0).to(device), y_test.to(device)
        attack = make_attack(evaluation.name, model, eps=evaluation.eps, alpha=getattr(evaluation, "alpha", None),
                             steps=getattr(evaluation, "steps", None))
        with torch.no_grad():
            clean = 100.0 * float((model(images).argmax(1) == labels).double().mean())
        values = {"clean_acc": clean, "adv_acc": adversarial_accuracy(attack, model, images, labels, seed=seed)}

    rows = [{"eval": label, "metric": k, "value": float(v)} for k, v in values.items()]
    from registry.atomic import write_json

    write_json(rundir / EVALS_FILE, rows)
    return {"evals": rows, "eval": label, "run_key": stage.get("key"),
            "seconds": time.perf_counter() - started}


def _title(spec: Mapping[str, Any], stage: Mapping[str, Any]) -> str:
    """"VGG19 on CIFAR-10, SNIP 90%": the network and method in the reports' words (the variant and
    the key are in the run's files, not in a figure title)."""
    from tickets.labels import panel_label, series_label

    columns = stage.get("columns") or {}
    method = series_label({"method": columns.get("method", "?"), "check": columns.get("check")})
    sparsity = float(columns.get("sparsity") or 0)
    return (f"{panel_label(str(spec.get('dataset')), str(spec.get('model')))}, {method}"
            + (f" {sparsity:.0%}" if sparsity else ""))
