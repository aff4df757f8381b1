"""The reliability diagram of one network: accuracy per confidence bin against the diagonal,
bar widths the bins, with the gap shaded and the bin counts underneath (matplotlib, Agg)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence


def reliability_diagram(bins: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = "",
                        ece: float | None = None) -> Path:
    from registry.report.figures import _pyplot, _save

    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.2, 5.0), sharex=True,
                                      gridspec_kw={"height_ratios": (3, 1)})
    try:
        for b in bins:
            width, left = b["hi"] - b["lo"], b["lo"]
            if not b["count"]:
                continue
            top.bar(left, b["accuracy"], width=width, align="edge", color="#4c72b0", edgecolor="black",
                    linewidth=0.5, label="accuracy" if left == min(x["lo"] for x in bins if x["count"]) else None)
            gap_lo, gap_hi = sorted((b["accuracy"], b["confidence"]))
            top.bar(left, gap_hi - gap_lo, bottom=gap_lo, width=width, align="edge", color="#dd8452",
                    alpha=0.45, edgecolor="none")
            bottom.bar(left, b["count"], width=width, align="edge", color="grey", edgecolor="black", linewidth=0.5)
        top.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
        top.set_xlim(0, 1)
        top.set_ylim(0, 1)
        top.set_ylabel("accuracy")
        top.legend(loc="upper left", fontsize=8)
        import textwrap

        heading = textwrap.fill(title, 55) + (f"\nECE {100 * ece:.2f}%" if ece is not None else "")
        top.set_title(heading, fontsize=8)
        bottom.set_yscale("log")
        bottom.set_xlabel("confidence (max softmax)")
        bottom.set_ylabel("samples")
        return _save(fig, Path(path))
    finally:
        plt.close(fig)
