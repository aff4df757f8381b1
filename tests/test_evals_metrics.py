"""Each evaluation metric against an independent computation on fixed logits and labels."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tickets.evals import metrics


def _logits(probs):
    return torch.log(torch.tensor(probs, dtype=torch.float64))


# Four samples of a 2-class problem: confidences 0.9 (right), 0.9 (right), 0.9 (wrong), 0.62 (right).
PROBS = [[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.38, 0.62]]
LABELS = [0, 1, 1, 1]


def test_ece_matches_a_hand_computed_case():
    # 15 equal-width bins: 0.9 lies in (13/15, 14/15], 0.62 in (9/15, 10/15].
    # bin of 0.9: accuracy 2/3, confidence 0.9, weight 3/4; bin of 0.62: accuracy 1, confidence 0.62, weight 1/4
    expected = 0.75 * abs(2 / 3 - 0.9) + 0.25 * abs(1.0 - 0.62)
    assert metrics.ece(_logits(PROBS), LABELS) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.27)
    bins = metrics.reliability_bins(_logits(PROBS), LABELS)
    assert len(bins) == 15 and [b["count"] for b in bins].count(0) == 13
    assert bins[13]["count"] == 3 and bins[9]["count"] == 1


def test_ece_puts_a_confidence_on_a_bin_edge_in_the_lower_bin():
    # confidence exactly 0.8 = 12/15: the bin (11/15, 12/15]; one bin of accuracy 1
    logits = _logits([[0.8, 0.2]])
    bins = metrics.reliability_bins(logits, [0])
    assert bins[11]["count"] == 1
    assert metrics.ece(logits, [0]) == pytest.approx(0.2)


def test_nll_and_brier_by_hand():
    nll = -(math.log(0.9) * 2 + math.log(0.1) + math.log(0.62)) / 4
    assert metrics.nll(_logits(PROBS), LABELS) == pytest.approx(nll)
    brier = (2 * 0.1 ** 2 * 2 + 2 * 0.9 ** 2 + 2 * 0.38 ** 2) / 4
    assert metrics.brier(_logits(PROBS), LABELS) == pytest.approx(brier)
    assert metrics.accuracy(_logits(PROBS), LABELS) == pytest.approx(75.0)


def _pairwise_auroc(a, b):
    """P(score_in > score_out) + ½ P(tie): the Mann-Whitney definition, by counting pairs."""
    a, b = np.asarray(a)[:, None], np.asarray(b)[None, :]
    return float(((a > b) + 0.5 * (a == b)).mean())


def test_ood_auroc_matches_scikit_learn_and_pair_counting():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    in_logits = torch.tensor(rng.normal(size=(300, 10)) * 3)
    out_logits = torch.tensor(rng.normal(size=(200, 10)))
    got = metrics.ood(in_logits, out_logits)
    s_in, s_out = metrics.msp_score(in_logits).numpy(), metrics.msp_score(out_logits).numpy()
    assert got["auroc"] == pytest.approx(_pairwise_auroc(s_in, s_out), abs=1e-12)
    y = np.r_[np.ones(300), np.zeros(200)]
    assert got["auroc"] == pytest.approx(roc_auc_score(y, np.r_[s_in, s_out]))
    e_in = torch.logsumexp(in_logits, 1).numpy()
    e_out = torch.logsumexp(out_logits, 1).numpy()
    assert got["energy_auroc"] == pytest.approx(_pairwise_auroc(e_in, e_out), abs=1e-12)
    assert 0.5 < got["auroc"] <= 1 and 0 <= got["fpr95"] <= 1


def test_fpr_at_95_tpr_and_aupr_by_hand():
    s_in = np.arange(1, 101, dtype=float)  # 95 % of them are >= 6
    s_out = np.array([0.5, 2.0, 5.5, 6.0, 50.0, 99.5, 200.0, -1.0])  # 4 of 8 are >= 6
    assert metrics.fpr_at_tpr(s_in, s_out) == pytest.approx(0.5)
    # perfectly separated scores: AUROC = AUPR = 1, FPR95 = 0
    perfect = metrics.detection([5.0, 6.0, 7.0], [1.0, 2.0])
    assert perfect == {"auroc": 1.0, "aupr": 1.0, "fpr95": 0.0}
    # AUPR (in as positive) for in=[3, 1], out=[2]: precision at recall ½ is 1, at recall 1 is 2/3
    assert metrics.detection([3.0, 1.0], [2.0])["aupr"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_fgsm_equals_the_hand_derived_step_on_a_linear_model():
    """For logits = W x + b and cross-entropy, ∇x = Wᵀ(softmax − onehot): FGSM moves every pixel by
    ε·sign of that, then clips to [0, 1]."""
    from tickets.evals.attacks import PixelModel, adversarial_accuracy, make_attack

    torch.manual_seed(0)
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    model = PixelModel(linear, mean=(0.0,), std=(1.0,)).eval()
    x = torch.rand(5, 1, 4, 4)
    y = torch.tensor([0, 1, 2, 0, 1])
    eps = 0.1
    adv = make_attack("fgsm", model, eps=eps)(x, y)

    w, b = linear[1].weight.detach(), linear[1].bias.detach()
    flat = x.view(5, -1)
    p = torch.softmax(flat @ w.T + b, dim=1)
    grad = (p - torch.nn.functional.one_hot(y, 3).float()) @ w  # d/dx of the per-sample loss
    expected = (flat + eps * grad.sign()).clamp(0, 1).view_as(x)
    assert torch.allclose(adv, expected, atol=1e-6)

    pgd = make_attack("pgd", model, eps=eps, alpha=0.02, steps=5)(x, y)
    assert (pgd - x).abs().max() <= eps + 1e-6 and pgd.min() >= 0 and pgd.max() <= 1
    with torch.no_grad():
        clean_loss = torch.nn.functional.cross_entropy(model(x), y)
        assert torch.nn.functional.cross_entropy(model(pgd), y) > clean_loss
    acc = adversarial_accuracy(make_attack("fgsm", model, eps=eps), model, x, y)
    with torch.no_grad():
        assert acc == pytest.approx(100.0 * float((model(expected).argmax(1) == y).float().mean()))
