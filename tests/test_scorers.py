"""Scorers against quantities computed independently here: hand-written gradients, finite
differences, SynFlow's conservation law, exact Hessian diagonals."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tickets.pruning.masks import global_topk_mask, mask_counts, prunable_weights
from tickets.pruning.scorers import (
    SCORERS,
    class_balanced_batch,
    grasp_hessian_gradient,
    hessian_diagonal,
    synflow_mask,
    synflow_scores,
)


def mlp(act: nn.Module, bias: bool = True, sizes=(5, 7, 4)) -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(act)
        layers.append(nn.Linear(a, b, bias=bias))
    return nn.Sequential(*layers).double()


def data(n=12, d=5, classes=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randint(0, classes, (n,), generator=g)


def test_snip_equals_hand_computed_g_times_w():
    net = mlp(nn.ReLU(), bias=False)
    x, y = data()
    W1, W2 = net[0].weight.detach(), net[2].weight.detach()
    pre = x @ W1.T
    h = pre.clamp(min=0)
    logits = h @ W2.T
    dlogits = (torch.softmax(logits, 1) - F.one_hot(y, 4).double()) / len(y)  # mean cross-entropy
    g2 = dlogits.T @ h
    g1 = ((dlogits @ W2) * (pre > 0)).T @ x
    scores = SCORERS.get("snip")(net, [(x, y)])
    torch.testing.assert_close(scores["0.weight"], (g1 * W1).abs())
    torch.testing.assert_close(scores["2.weight"], (g2 * W2).abs())
    assert net[0].weight.grad is None  # the caller's model is untouched
    assert SCORERS.meta("snip") == {"largest": True, "data": True}


def test_snip_respects_mask():
    net = mlp(nn.ReLU())
    x, y = data()
    mask = {"0.weight": torch.rand(7, 5, generator=torch.Generator().manual_seed(0)) > 0.5}
    scores = SCORERS.get("snip")(net, [(x, y)], mask=mask)
    assert (scores["0.weight"][~mask["0.weight"]] == 0).all()


def flat_grad(net, batches, temperature):
    ws = [w for _, w in prunable_weights(net)]
    total = [torch.zeros_like(w) for w in ws]
    for x, y in batches:
        for acc, g in zip(total, torch.autograd.grad(F.cross_entropy(net(x) / temperature, y), ws)):
            acc += g
    return total


def test_grasp_hg_matches_finite_differences():
    net = mlp(nn.Tanh())
    batches = [data(seed=1), data(seed=2)]
    T = 200.0
    hg = grasp_hessian_gradient(net, batches, temperature=T)
    names = [n for n, _ in prunable_weights(net)]
    ws = [w for _, w in prunable_weights(net)]
    g = flat_grad(net, batches, T)
    eps = 1e-3 / float(torch.sqrt(sum((gi ** 2).sum() for gi in g)))
    with torch.no_grad():
        for w, gi in zip(ws, g):
            w += eps * gi
    plus = flat_grad(net, batches, T)
    with torch.no_grad():
        for w, gi in zip(ws, g):
            w -= 2 * eps * gi
    minus = flat_grad(net, batches, T)
    with torch.no_grad():
        for w, gi in zip(ws, g):
            w += eps * gi
    for n, p_, m_ in zip(names, plus, minus):
        fd = (p_ - m_) / (2 * eps)
        torch.testing.assert_close(hg[n], fd, rtol=1e-5, atol=1e-6 * float(fd.abs().max()))
        assert float(hg[n].abs().max()) > 0
    scores = SCORERS.get("grasp")(net, batches)
    for n, w in zip(names, ws):
        torch.testing.assert_close(scores[n], -w.detach() * hg[n])
    assert SCORERS.meta("grasp")["largest"] is False  # GraSP removes the highest scores


def test_synflow_conserves_per_layer_score_sums_on_linear_network():
    net = mlp(nn.ReLU(), bias=False, sizes=(5, 7, 6, 3))
    A = [net[i].weight.detach().abs() for i in (0, 2, 4)]
    R = float(torch.ones(1, 3, dtype=torch.float64) @ A[2] @ A[1] @ A[0] @ torch.ones(5, 1, dtype=torch.float64))
    scores = synflow_scores(net, (5,))
    sums = [float(s.sum()) for s in scores.values()]
    assert sums == pytest.approx([R, R, R], rel=1e-10)
    # the per-weight score of the first layer by hand: |w_ij| * (1ᵀ A3 A2)_i * 1
    upstream = (torch.ones(1, 3, dtype=torch.float64) @ A[2] @ A[1]).T
    torch.testing.assert_close(scores["0.weight"], A[0] * upstream)


def test_synflow_mask_exact_count_and_single_round():
    net = mlp(nn.ReLU(), bias=False, sizes=(5, 7, 6, 3))
    for k in (5, 20, 40):
        assert sum(mask_counts(synflow_mask(net, k, iterations=10, input_shape=(5,))).values()) == k
    one = synflow_mask(net, 20, iterations=1, input_shape=(5,))
    direct = global_topk_mask(synflow_scores(net, (5,)), 20)
    assert all(torch.equal(one[n], direct[n]) for n in one)


def test_synflow_works_on_conv_bn_in_eval_mode():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    mask = synflow_mask(net, 60, iterations=5, input_shape=(3, 8, 8))
    assert sum(mask_counts(mask).values()) == 60
    assert net.training and net[1].running_mean.abs().sum() == 0  # model untouched


def test_hutchinson_hessian_diagonal_matches_exact():
    net = mlp(nn.Tanh(), sizes=(3, 3, 2))
    x, y = data(n=8, d=3, classes=2)
    ws = [w for _, w in prunable_weights(net)]
    grads = torch.autograd.grad(F.cross_entropy(net(x), y), ws, create_graph=True)
    exact = []
    for w, g in zip(ws, grads):
        d = torch.zeros_like(w)
        for idx in range(w.numel()):
            d.view(-1)[idx] = torch.autograd.grad(g.view(-1)[idx], w, retain_graph=True)[0].view(-1)[idx]
        exact.append(d)
    est = hessian_diagonal(net, [(x, y)], samples=500, generator=torch.Generator().manual_seed(0))
    scale = max(float(e.abs().max()) for e in exact)
    for (n, _), e in zip(prunable_weights(net), exact):
        torch.testing.assert_close(est[n], e, rtol=0, atol=0.15 * scale)
    obd = SCORERS.get("obd")(net, [(x, y)], generator=torch.Generator().manual_seed(0), hutchinson_samples=8)
    h8 = hessian_diagonal(net, [(x, y)], samples=8, generator=torch.Generator().manual_seed(0))
    for n, w in prunable_weights(net):
        torch.testing.assert_close(obd[n], 0.5 * h8[n] * w.detach() ** 2)


def test_random_and_magnitude():
    net = mlp(nn.ReLU())
    r1 = SCORERS.get("random")(net, generator=torch.Generator().manual_seed(3))
    r2 = SCORERS.get("random")(net, generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(r1[n], r2[n]) for n in r1)
    mask = {"2.weight": torch.zeros(4, 7, dtype=torch.bool)}
    mag = SCORERS.get("magnitude")(net, mask=mask)
    torch.testing.assert_close(mag["0.weight"], net[0].weight.detach().abs())
    assert (mag["2.weight"] == 0).all()
    assert not SCORERS.meta("synflow")["data"] and SCORERS.meta("obd")["data"]


def test_class_balanced_batch():
    y = torch.arange(300) % 3
    x = torch.arange(300).view(300, 1)
    xb, yb = class_balanced_batch(x, y, 10, torch.Generator().manual_seed(0))
    assert torch.bincount(yb).tolist() == [10, 10, 10]
    assert (xb.flatten() % 3 == yb).all() and xb.unique().numel() == 30
    again, _ = class_balanced_batch(x, y, 10, torch.Generator().manual_seed(0))
    other, _ = class_balanced_batch(x, y, 10, torch.Generator().manual_seed(1))
    assert torch.equal(xb, again) and not torch.equal(xb, other)
