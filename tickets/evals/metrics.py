"""Metric definitions on fixed logits and labels: calibration and out-of-distribution detection.

Everything here is a pure function of arrays, so each metric is tested against an independent
computation (a hand-worked ECE, scikit-learn's AUROC). Ranking metrics (AUROC, AUPR) are
scikit-learn's; ECE, NLL and Brier are the usual definitions written in a few lines of torch:

- ECE (Guo et al., 2017): confidences (max softmax) split into `bins` equal-width bins over (0, 1];
  ECE = sum_b |B_b|/N * |acc(B_b) - conf(B_b)|, in [0, 1].
- NLL: mean of -log softmax(logits)[label].
- Brier: mean over samples of sum_k (p_k - onehot_k)^2 (the multi-class form, in [0, 2]).
- OoD: in-distribution test images are the positives; a score is higher for "more in-distribution"
  (maximum softmax probability, or the negative energy logsumexp(logits)). AUROC and AUPR (in as
  positive) from scikit-learn; FPR@95%TPR is the fraction of OoD samples scored at or above the
  threshold that keeps 95 % of in-distribution samples."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

ECE_BINS = 15
# metrics where a smaller value is better (reports bold the lowest mean)
LOWER_IS_BETTER = frozenset({"ece", "nll", "brier", "fpr95", "energy_fpr95"})


def _tensor(x: Any, dtype=None) -> "torch.Tensor":
    import torch

    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return t.detach().cpu().to(dtype) if dtype is not None else t.detach().cpu()


def reliability_bins(logits: Any, labels: Any, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per equal-width confidence bin over (0, 1]: {"lo", "hi", "count", "accuracy", "confidence"}
    (accuracy and confidence are None for an empty bin). A confidence c falls in bin b when
    lo < c <= hi, the convention of Guo et al. and torchmetrics."""
    import torch

    logits, labels = _tensor(logits, torch.float64), _tensor(labels, torch.long)
    probs = torch.softmax(logits, dim=1)
    confidence, predicted = probs.max(dim=1)
    correct = (predicted == labels).double()
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    # bucketize(right=False) gives i with edges[i-1] < c <= edges[i]; bin index i-1
    index = (torch.bucketize(confidence, edges, right=False) - 1).clamp(0, bins - 1)
    out = []
    for b in range(bins):
        member = index == b
        n = int(member.sum())
        out.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "count": n,
                    "accuracy": float(correct[member].mean()) if n else None,
                    "confidence": float(confidence[member].mean()) if n else None})
    return out


def ece(logits: Any, labels: Any, bins: int = ECE_BINS) -> float:
    """Expected calibration error with `bins` equal-width bins, in [0, 1]."""
    table = reliability_bins(logits, labels, bins)
    total = sum(b["count"] for b in table)
    if total == 0:
        raise ValueError("ECE of an empty set")
    return sum(b["count"] / total * abs(b["accuracy"] - b["confidence"]) for b in table if b["count"])


def nll(logits: Any, labels: Any) -> float:
    import torch

    logits, labels = _tensor(logits, torch.float64), _tensor(labels, torch.long)
    return float(torch.nn.functional.cross_entropy(logits, labels))


def brier(logits: Any, labels: Any) -> float:
    import torch

    logits, labels = _tensor(logits, torch.float64), _tensor(labels, torch.long)
    probs = torch.softmax(logits, dim=1)
    onehot = torch.nn.functional.one_hot(labels, probs.shape[1]).double()
    return float(((probs - onehot) ** 2).sum(dim=1).mean())


def accuracy(logits: Any, labels: Any) -> float:
    """Percent correct (the store's test_acc convention)."""
    import torch

    logits, labels = _tensor(logits), _tensor(labels, torch.long)
    return 100.0 * float((logits.argmax(dim=1) == labels).double().mean())


def calibration(logits: Any, labels: Any, bins: int = ECE_BINS) -> dict[str, float]:
    return {"acc": accuracy(logits, labels), "ece": ece(logits, labels, bins),
            "nll": nll(logits, labels), "brier": brier(logits, labels)}


# ----------------------------------------------------------------------------- OoD detection

def msp_score(logits: Any) -> "torch.Tensor":
    """Maximum softmax probability (Hendrycks & Gimpel, 2017): high = in-distribution."""
    import torch

    return torch.softmax(_tensor(logits, torch.float64), dim=1).max(dim=1).values


def energy_score(logits: Any, temperature: float = 1.0) -> "torch.Tensor":
    """Negative free energy T·logsumexp(logits/T) (Liu et al., 2020): high = in-distribution."""
    import torch

    return temperature * torch.logsumexp(_tensor(logits, torch.float64) / temperature, dim=1)


def fpr_at_tpr(in_scores: Any, out_scores: Any, tpr: float = 0.95) -> float:
    """Fraction of OoD samples accepted by the threshold keeping `tpr` of in-distribution samples
    (the threshold read off scikit-learn's ROC curve: the first point reaching the TPR)."""
    import numpy as np
    from sklearn.metrics import roc_curve

    y, s = _binary(in_scores, out_scores)
    fpr, tprs, _ = roc_curve(y, s)
    return float(fpr[int(np.searchsorted(tprs, tpr, side="left"))])


def _binary(in_scores: Any, out_scores: Any):
    import numpy as np

    a = np.asarray(_tensor(in_scores), dtype=np.float64)
    b = np.asarray(_tensor(out_scores), dtype=np.float64)
    if not len(a) or not len(b):
        raise ValueError("OoD metrics need in-distribution and OoD samples")
    return np.concatenate([np.ones(len(a)), np.zeros(len(b))]), np.concatenate([a, b])


def detection(in_scores: Any, out_scores: Any) -> dict[str, float]:
    """{"auroc", "aupr", "fpr95"} with in-distribution as the positive class, each in [0, 1]."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, s = _binary(in_scores, out_scores)
    return {"auroc": float(roc_auc_score(y, s)), "aupr": float(average_precision_score(y, s)),
            "fpr95": fpr_at_tpr(in_scores, out_scores)}


def ood(in_logits: Any, out_logits: Any) -> dict[str, float]:
    """MSP metrics as auroc/aupr/fpr95, energy-score metrics as energy_auroc/…"""
    out = detection(msp_score(in_logits), msp_score(out_logits))
    out.update({f"energy_{k}": v for k, v in detection(energy_score(in_logits), energy_score(out_logits)).items()})
    return out
