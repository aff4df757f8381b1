"""Weight scores that pruning methods threshold into masks.

A scorer is registered in `SCORERS` as

    fn(model, batches=None, *, mask=None, generator=None, **options) -> {param_name: score tensor}

`batches` is a sequence of `(x, y)` pairs: float inputs already normalised as for training, int64
labels, on the model's device (data-free scorers ignore it). `mask` (optional) is applied to a
copy of the model before scoring; the model itself is never modified. Scores have the weights'
shapes and live on the weights' device. Registry metadata per scorer:
    largest   True: keep the highest scores; False: keep the lowest (GraSP removes the highest)
    data      True when the scorer reads the batches (sanity checks on data apply to it)

Scorers
    random     uniform random scores from `generator` (CPU torch.Generator)
    magnitude  |w|
    snip       |g ⊙ w|, g = gradient of the cross-entropy summed over the batches (SNIP; the paper
               uses one batch of 10 samples per class, see `class_balanced_batch`)
    grasp      -θ ⊙ Hg, g and H of the cross-entropy on logits / T (T = 200), Hg by a double
               backward: grad of (g(θ) · stop_grad(g)) w.r.t. θ (GraSP); keep the lowest. g and Hg
               are sums over the batches (released GraSP: the two halves of its batch);
               `reinit_classifier` scores a copy with xavier-normal nn.Linear weights
    synflow    |θ ⊙ dR/dθ| on the |θ|-linearised network in float64 and eval mode, R = sum of the
               output on an all-ones input of shape `input_shape` (one round; the iterative method
               with its exponential schedule is `synflow_mask`)
    obd        ½ h_ii w², h_ii the Hessian diagonal of the cross-entropy estimated by Hutchinson's
               method (E[v ⊙ Hv], Rademacher v; `hutchinson_samples` probes per batch), eval mode

Helpers
    class_balanced_batch(x, y, per_class, generator) -> (x, y)   per_class random samples per class
    grasp_hessian_gradient(model, batches, temperature=200.0, mask=None) -> {name: Hg}
    hessian_diagonal(model, batches, samples=4, generator=None, mask=None) -> {name: h_ii}
    synflow_scores(model, input_shape, mask=None) -> {name: score}
    synflow_mask(model, keep_total, iterations=100, input_shape=..., mask=None) -> mask"""
from __future__ import annotations

import copy
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from registry.errors import UserError
from registry.naming import Registry
from tickets.pruning.masks import apply_mask, global_topk_mask, prunable_weights

SCORERS: Registry = Registry("scorer")

SAMPLES_PER_CLASS = 10  # SNIP and GraSP: one batch of 10 samples per class
GRASP_TEMPERATURE = 200.0
SYNFLOW_ITERATIONS = 100

Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]


def class_balanced_batch(x: torch.Tensor, y: torch.Tensor, per_class: int,
                         generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`per_class` samples of every class present in `y`, drawn at random with `generator`.

    Works on any tensors (uint8 images included); returns them grouped by class in class order.
    A class with fewer than `per_class` samples contributes all it has."""
    if per_class < 1:
        raise UserError(f"samples per class must be >= 1, got {per_class}")
    y_cpu = y.detach().cpu()
    picks = []
    for c in torch.unique(y_cpu).tolist():
        idx = torch.nonzero(y_cpu == c).flatten()
        perm = torch.randperm(idx.numel(), generator=generator)[:per_class]
        picks.append(idx[perm])
    index = torch.cat(picks).to(y.device)
    return x[index.to(x.device)], y[index]


def _scoring_copy(model: nn.Module, mask: Mapping[str, torch.Tensor] | None) -> nn.Module:
    net = copy.deepcopy(model)
    if mask:
        apply_mask(net, mask)
    net.zero_grad(set_to_none=True)
    return net


def _need_batches(name: str, batches) -> Batches:
    if not batches:
        raise UserError(f"scorer {name} needs data: pass at least one (x, y) batch")
    return batches


def _loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    return F.cross_entropy(net(x) / temperature, y)


@SCORERS.register("random", largest=True, data=False)
def random_scores(model, batches=None, *, mask=None, generator=None, **_):
    """Uniform random scores (the weak baseline); drawn on CPU from `generator` for reproducibility."""
    out = {}
    for n, w in prunable_weights(model):
        out[n] = torch.rand(w.shape, generator=generator).to(w.device)
    return out


@SCORERS.register("magnitude", largest=True, data=False)
def magnitude_scores(model, batches=None, *, mask=None, **_):
    out = {}
    for n, w in prunable_weights(model):
        s = w.detach().abs().clone()
        if mask and n in mask:
            s = s * mask[n].to(s.device, s.dtype)
        out[n] = s
    return out


@SCORERS.register("snip", largest=True, data=True)
def snip_scores(model, batches=None, *, mask=None, **_):
    """Connection sensitivity |∂L/∂c| = |g ⊙ w| at c = 1 (SNIP), train mode as at initialisation."""
    batches = _need_batches("snip", batches)
    net = _scoring_copy(model, mask)
    net.train()
    for x, y in batches:
        _loss(net, x, y).backward()
    out = {}
    for n, w in prunable_weights(net):
        g = w.grad if w.grad is not None else torch.zeros_like(w)
        out[n] = (g * w).detach().abs()
    return out


def grasp_hessian_gradient(model: nn.Module, batches: Batches, temperature: float = GRASP_TEMPERATURE,
                           mask=None) -> dict[str, torch.Tensor]:
    """Hg for the loss sum over `batches` of cross-entropy(logits / T), by a double backward.

    First pass: g = ∇θ L (no graph). Second pass: z = Σ ∇θ L(θ) · stop_grad(g), then ∇θ z = H g."""
    batches = _need_batches("grasp", batches)
    net = _scoring_copy(model, mask)
    net.train()
    names = [n for n, _ in prunable_weights(net)]
    weights = [w for _, w in prunable_weights(net)]
    g = [torch.zeros_like(w) for w in weights]
    for x, y in batches:
        grads = torch.autograd.grad(_loss(net, x, y, temperature), weights, allow_unused=True)
        for acc, gi in zip(g, grads):
            if gi is not None:
                acc.add_(gi)
    hg = [torch.zeros_like(w) for w in weights]
    for x, y in batches:
        grads = torch.autograd.grad(_loss(net, x, y, temperature), weights, create_graph=True,
                                    allow_unused=True)
        z = sum((gi * ci).sum() for gi, ci in zip(grads, g) if gi is not None)
        if not torch.is_tensor(z) or not z.requires_grad:
            continue
        second = torch.autograd.grad(z, weights, allow_unused=True)
        for acc, hi in zip(hg, second):
            if hi is not None:
                acc.add_(hi)
    return {n: h.detach() for n, h in zip(names, hg)}


def reinitialised_classifier(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """A copy of `model` whose every nn.Linear weight is re-drawn from xavier normal
    (std = sqrt(2 / (fan_in + fan_out))), as released GraSP (`reinit=True`) scores it. Drawn on
    the CPU from `generator`; biases and every other parameter are left as they are."""
    net = copy.deepcopy(model)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                fresh = torch.empty(m.weight.shape, dtype=m.weight.dtype)
                nn.init.xavier_normal_(fresh, generator=generator)
                m.weight.copy_(fresh.to(m.weight.device))
    return net


@SCORERS.register("grasp", largest=False, data=True)
def grasp_scores(model, batches=None, *, mask=None, temperature: float = GRASP_TEMPERATURE,
                 reinit_classifier: bool = False, generator=None, **_):
    """-θ ⊙ Hg (GraSP): removing weights with the highest score preserves gradient flow best.

    `reinit_classifier`: score a copy whose nn.Linear weights are re-drawn (xavier normal, from
    `generator`); θ in the score is then the copy's weight, as in the released code."""
    scored = reinitialised_classifier(model, generator) if reinit_classifier else model
    hg = grasp_hessian_gradient(scored, batches, temperature, mask)
    out = {}
    for n, w in prunable_weights(scored):
        theta = w.detach() * (mask[n].to(w.device, w.dtype) if mask and n in mask else 1)
        out[n] = -theta * hg[n]
    return out


def _linearised_copy(model: nn.Module) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """float64, eval-mode copy whose parameters and buffers are all replaced by their |value|."""
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for t in net.state_dict().values():
            if torch.is_floating_point(t):
                t.abs_()
    base = {n: w.detach().clone() for n, w in prunable_weights(net)}
    return net, base


def _synflow_round(net: nn.Module, base: Mapping[str, torch.Tensor], input_shape, mask) -> dict[str, torch.Tensor]:
    weights = dict(prunable_weights(net))
    with torch.no_grad():
        for n, w in weights.items():
            w.copy_(base[n] * mask[n].to(w.dtype) if mask and n in mask else base[n])
    net.zero_grad(set_to_none=True)
    device = next(iter(weights.values())).device
    ones = torch.ones((1, *tuple(input_shape)), dtype=torch.float64, device=device)
    net(ones).sum().backward()
    out = {}
    for n, w in weights.items():
        g = w.grad if w.grad is not None else torch.zeros_like(w)
        out[n] = (g * w).detach().abs()
    return out


def synflow_scores(model: nn.Module, input_shape: Sequence[int], mask=None) -> dict[str, torch.Tensor]:
    """One SynFlow round: |θ ⊙ ∂R/∂θ| with R = 1ᵀ f(1; |θ|), float64, eval mode (data-free)."""
    net, base = _linearised_copy(model)
    scores = _synflow_round(net, base, input_shape, mask)
    return {n: s.to(w.dtype) for (n, s), (_, w) in zip(scores.items(), prunable_weights(model))}


@SCORERS.register("synflow", largest=True, data=False)
def _synflow_scorer(model, batches=None, *, mask=None, input_shape=None, **_):
    if input_shape is None:
        raise UserError("scorer synflow needs input_shape (C, H, W) of the data")
    return synflow_scores(model, input_shape, mask)


def synflow_mask(model: nn.Module, keep_total: int, iterations: int = SYNFLOW_ITERATIONS,
                 input_shape: Sequence[int] = (3, 32, 32), mask=None,
                 rule: str = "round", density: float | None = None) -> dict[str, torch.Tensor]:
    """Iterative SynFlow: `iterations` rounds of scoring and global pruning, the kept fraction
    following the exponential schedule d^(k/iterations), k = 1..iterations, d = `density`
    (released Synaptic-Flow: the nominal 1 − p) or, when None, keep_total / N (this project's
    earlier schedule, round(N(1−p))/N).

    Kept count after round k < R: `rule="reference"` N − int((1 − d^(k/R))·N), Synaptic-Flow's
    (`Pruner._global_mask` prunes int((1 − sparsity)·N) with sparsity = d^(k/R));
    `rule="round"` round(N·d^(k/R)), this project's first version. The last round keeps
    exactly `keep_total` under both (float rounding of d·N would otherwise keep one too many).

    Pruned weights never come back. Returns a mask keeping exactly `keep_total` weights."""
    if iterations < 1:
        raise UserError(f"synflow iterations must be >= 1, got {iterations}")
    if rule not in ("round", "reference"):
        raise UserError(f"synflow kept-count rule must be round or reference, got {rule!r}")
    net, base = _linearised_copy(model)
    names = [n for n, _ in prunable_weights(net)]
    total = sum(base[n].numel() for n in names)
    if not 0 <= keep_total <= total:
        raise UserError(f"cannot keep {keep_total} weights out of {total}")
    current = {n: (mask[n].to(base[n].device).bool().clone() if mask and n in mask
                   else torch.ones_like(base[n], dtype=torch.bool)) for n in names}
    if density is None:
        density = keep_total / total if total else 1.0
    elif not 0.0 < density <= 1.0:
        raise UserError(f"synflow schedule density must be in (0, 1], got {density}")
    for k in range(1, iterations + 1):
        if k == iterations:
            target = keep_total
        elif rule == "reference":
            target = total - int((1.0 - density ** (k / iterations)) * total)
        else:
            target = round(total * density ** (k / iterations))
        target = max(target, keep_total)
        scores = _synflow_round(net, base, input_shape, current)
        # pruned weights rank below every live one (scores are >= 0), so they stay pruned
        scores = {n: torch.where(current[n], scores[n], torch.full_like(scores[n], -1.0)) for n in names}
        current = global_topk_mask(scores, min(target, sum(int(m.sum()) for m in current.values())))
    devices = dict(prunable_weights(model))
    return {n: current[n].to(devices[n].device) for n in names}


def hessian_diagonal(model: nn.Module, batches: Batches, samples: int = 4,
                     generator: torch.Generator | None = None, mask=None) -> dict[str, torch.Tensor]:
    """Hutchinson estimate of diag(H) of the mean cross-entropy: mean over batches and `samples`
    Rademacher probes v of v ⊙ (H v). Unbiased; eval mode (a trained network's BN statistics)."""
    batches = _need_batches("obd", batches)
    if samples < 1:
        raise UserError(f"hutchinson samples must be >= 1, got {samples}")
    net = _scoring_copy(model, mask)
    net.eval()
    names = [n for n, _ in prunable_weights(net)]
    weights = [w for _, w in prunable_weights(net)]
    diag = [torch.zeros_like(w) for w in weights]
    for x, y in batches:
        grads = torch.autograd.grad(_loss(net, x, y), weights, create_graph=True)
        for s in range(samples):
            vs = [(torch.randint(0, 2, w.shape, generator=generator) * 2 - 1).to(w.device, w.dtype)
                  for w in weights]
            hv = torch.autograd.grad(grads, weights, grad_outputs=vs, retain_graph=s < samples - 1)
            for acc, v, h in zip(diag, vs, hv):
                acc.add_(v * h)
    count = len(batches) * samples
    return {n: (d / count).detach() for n, d in zip(names, diag)}


@SCORERS.register("obd", largest=True, data=True)
def obd_scores(model, batches=None, *, mask=None, generator=None, hutchinson_samples: int = 4, **_):
    """Optimal Brain Damage saliency ½ h_ii w² with a Hutchinson estimate of h_ii."""
    h = hessian_diagonal(model, batches, hutchinson_samples, generator, mask)
    out = {}
    for n, w in prunable_weights(model):
        theta = w.detach() * (mask[n].to(w.device, w.dtype) if mask and n in mask else 1)
        out[n] = 0.5 * h[n] * theta ** 2
    return out
