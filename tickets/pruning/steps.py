"""The shared steps every method recipe is made of: train dense, load pretrained weights, score and
mask, apply the sanity check, retrain. Methods (`tickets.pruning.methods`) are a few lines over these.

Files a stage writes in its run directory (besides the training phases' own checkpoints):

    mask.pt       the pruning step's mask (before a mask-level check such as `rearrange`); once it exists the
                  pruning step is never redone, so an interrupted run resumes straight into retraining
    layers.json   per prunable layer: layer, shape, weights, kept, keep_ratio
    flops.json    Scratch-B only: dense and sparse FLOPs and the epoch scale

Training phases (see `tickets.train`): "pretrain" (the shared dense network; weight snapshots at
`snapshot_epochs`), "round<r>" (iterative magnitude pruning), "retrain" (the ticket's training, always
on the true training data). Randomness of a pruning step (random masks, corrupted data, rearranged
masks, shuffled weights) comes from generators seeded by (run seed, purpose), so a run is
reproducible and its purposes do not share a stream."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from registry.atomic import write_atomic, write_json
from registry.errors import UserError
from tickets.config import TrainConfig

if TYPE_CHECKING:
    import torch
    from torch import nn

    from tickets.data.info import DatasetInfo, TensorData
    from tickets.pruning.methods import Method

PRETRAIN_PHASE = "pretrain"
RETRAIN_PHASE = "retrain"
MASK_FILE = "mask.pt"
LAYERS_FILE = "layers.json"


def snapshot_epochs(epochs: int) -> tuple[int, ...]:
    """Pretraining weight snapshots kept for rewinding: 0, 1, 2, 3, 5, every 10th epoch, and the last.

    Not part of any identity: every pretraining writes the same set for its number of epochs."""
    wanted = {0, 1, 2, 3, 5, *range(10, epochs + 1, 10), epochs}
    return tuple(sorted(e for e in wanted if 0 <= e <= epochs))


def derived_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for one purpose of one run (independent streams per purpose)."""
    digest = hashlib.sha256(f"{int(seed)}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def schedule_from(config: TrainConfig, epoch: int) -> TrainConfig:
    """The rest of `config`'s schedule after `epoch` epochs: the remaining epochs, milestones shifted,
    and the learning rate the schedule had reached at that epoch (weight rewinding)."""
    if not 0 <= epoch < config.epochs:
        raise UserError(f"cannot resume a {config.epochs}-epoch schedule at epoch {epoch}")
    passed = sum(1 for m in config.milestones if m <= epoch)
    return replace(config, epochs=config.epochs - epoch, lr=config.lr * config.gamma ** passed,
                   milestones=tuple(m - epoch for m in config.milestones if m > epoch))


@dataclass
class RunContext:
    """Everything a recipe needs, rebuilt from a stage spec by `tickets.domain`."""

    dataset: str
    model_name: str
    model_options: Mapping[str, Any]
    method: "Method"
    check: str
    sparsity: float
    seed: int
    config: TrainConfig
    info: "DatasetInfo"
    data: "TensorData"
    rundir: Path
    pretrain_dir: Path | None = None
    device: Any = None
    data_check: str | None = None  # a data check that applies to this stage's pruning data
    on_epoch: Callable[[Any], None] | None = None
    on_step: Callable[[int, int, int], None] | None = None
    phase_started: Callable[[str, int], None] | None = None
    # Packing (tickets/train/packing_jobs.py) sees the training a recipe asks for instead of running it.
    train_hook: Callable[..., Any] | None = None
    _pruning_data: Any = field(default=None, repr=False)
    bn_l1: float = 0.0  # network slimming's L1 on BN scales during the large model's training
    retrain_config: TrainConfig | None = None  # the fine-tuning schedule of structured pipelines
    soft_filter: float = 0.0  # soft filter pruning: the fraction of each conv's filters zeroed per epoch

    def generator(self, purpose: str) -> "torch.Generator":
        import torch

        return torch.Generator().manual_seed(derived_seed(self.seed, purpose))

    @property
    def family(self) -> str:
        from tickets.models import model_family

        return model_family(self.model_name)

    def pruning_data(self) -> Any:
        """The training tensors the pruning step (and pretraining) sees: the true training set, or its
        seeded corruption when the stage has a data check. Computed once per run."""
        if self._pruning_data is None:
            if self.data_check is None:
                self._pruning_data = self.data
            else:
                from tickets.pruning.checks import CHECKS
                from tickets.train.batches import is_streaming

                if is_streaming(self.data):  # file-backed: a view (tickets/pruning/file_checks.py)
                    from tickets.pruning.file_checks import corrupt_view

                    self._pruning_data = corrupt_view(CHECKS.get(self.data_check), self.data,
                                                      num_classes=self.info.num_classes, seed=self.seed)
                    return self._pruning_data
                self._pruning_data = CHECKS.get(self.data_check).corrupt_data(
                    self.data.x_train, self.data.y_train, num_classes=self.info.num_classes,
                    seed=self.seed)
        return self._pruning_data

    def train_view(self) -> Any:
        """`train_view` for `tickets.train.train`: None for the true data."""
        view = self.pruning_data()
        return None if view is self.data else view


# --------------------------------------------------------------------------- models

def initial_model(ctx: RunContext, seed: int | None = None) -> "nn.Module":
    """The network at initialisation for `seed` (default: the run's seed, the same weights the
    shared pretraining started from)."""
    import torch

    from tickets.models import build_model

    torch.manual_seed(ctx.seed if seed is None else seed)
    return build_model(ctx.model_name, ctx.info, **dict(ctx.model_options))


def pretrained_model(ctx: RunContext, epoch: int | None = None) -> "nn.Module":
    """The shared pretraining's weights after `epoch` epochs (None = fully trained, 0 = initial)."""
    from tickets.train.checkpoint import load_weights, weights_path

    if ctx.pretrain_dir is None:
        raise RuntimeError(f"method {ctx.method.name} needs the pretrain stage's run directory")
    epoch = ctx.config.epochs if epoch is None else epoch
    path = weights_path(ctx.pretrain_dir, PRETRAIN_PHASE, epoch)
    if not path.exists():
        raise UserError(f"the pretraining in {ctx.pretrain_dir} has no weight snapshot for epoch "
                        f"{epoch} ({path.name}); snapshots: {', '.join(map(str, snapshot_epochs(ctx.config.epochs)))}")
    model = initial_model(ctx)
    model.load_state_dict(load_weights(path))
    return model


# --------------------------------------------------------------------------- training phases

def _train(ctx: RunContext, model, config: TrainConfig, *, mask=None, phase: str, train_view=None,
           snapshots: tuple[int, ...] = (), epoch_end=None):
    from tickets.train import train

    if ctx.phase_started is not None:
        ctx.phase_started(phase, config.epochs)
    if ctx.train_hook is not None:
        return ctx.train_hook(ctx, model, config, mask=mask, phase=phase, train_view=train_view,
                              snapshots=snapshots)
    return train(model, ctx.data, config, mask=mask, rundir=ctx.rundir, phase=phase, device=ctx.device,
                 seed=ctx.seed, train_view=train_view, on_epoch=ctx.on_epoch, on_step=ctx.on_step,
                 snapshot_epochs=snapshots, **({"epoch_end": epoch_end} if epoch_end is not None else {}))


def train_dense(ctx: RunContext):
    """The shared dense pretraining (also the `dense` method's whole run), on the pruning data."""
    from tickets.pruning.structured.penalty import add_bn_l1

    model = initial_model(ctx)
    write_layers(ctx, model, None)
    add_bn_l1(model, ctx.bn_l1)  # no-op unless the stage is network slimming's sparse training
    if ctx.soft_filter:  # soft filter pruning's training (its own module)
        from tickets.pruning.soft_filter import train_soft

        return train_soft(ctx, model)
    return _train(ctx, model, ctx.config, phase=PRETRAIN_PHASE, train_view=ctx.train_view(),
                  snapshots=snapshot_epochs(ctx.config.epochs))


def train_round(ctx: RunContext, model, mask, *, phase: str):
    """One intermediate training round of iterative pruning (on the pruning data); returns the
    trained model."""
    from tickets.pruning.masks import apply_mask

    apply_mask(model, mask)
    _train(ctx, model, ctx.config, mask=mask, phase=phase, train_view=ctx.train_view())
    return model


def retrain(ctx: RunContext, model, mask, config: TrainConfig | None = None):
    """Apply a mask-level sanity check, zero the pruned weights and train the ticket on the true
    training data; returns the phase's History."""
    from tickets.pruning.masks import apply_mask

    mask = apply_mask_check(ctx, model, mask)
    apply_mask(model, mask)
    write_layers(ctx, model, mask)
    return _train(ctx, model, config or ctx.config, mask=mask, phase=RETRAIN_PHASE)


# --------------------------------------------------------------------------- masks

def prune(ctx: RunContext, make_mask: Callable[[], Mapping[str, "torch.Tensor"]]):
    """The pruning step, done once: load `mask.pt` if a previous attempt finished it, else compute
    the mask and publish it atomically (mask-level checks act later, in `retrain`)."""
    import torch

    path = ctx.rundir / MASK_FILE
    if path.exists():
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(loaded, dict) or not all(isinstance(m, torch.Tensor) for m in loaded.values()):
                raise ValueError("not a dict of tensors")
            return loaded
        except Exception as exc:  # truncated, damaged or foreign: set aside like a bad checkpoint
            import warnings

            warnings.warn(f"mask {path} is unreadable ({type(exc).__name__}: {exc}); set aside as "
                          f"{MASK_FILE}.corrupt and computed again", RuntimeWarning, stacklevel=2)
            path.replace(path.with_name(MASK_FILE + ".corrupt"))
    mask = {n: m.detach().to("cpu", torch.bool) for n, m in make_mask().items()}
    write_atomic(path, lambda fh: torch.save(mask, fh))
    return mask


def _scores_of(model) -> dict[str, "torch.Tensor"]:
    """|w| of every prunable weight, on the CPU."""
    from tickets.pruning.masks import prunable_weights

    return {n: w.detach().abs().cpu() for n, w in prunable_weights(model)}


def _kept_total(ctx: RunContext, total: int, sparsity: float | None = None) -> int:
    p = ctx.sparsity if sparsity is None else sparsity
    return int(round(total * (1.0 - p)))


def _classifier_excluded(ctx: RunContext, names: list[str], weights: Mapping[str, int],
                         keep_total: int, what: str) -> tuple[list[str], int]:
    """Drop the classifier (last prunable layer) from a global threshold; its weights all count as kept."""
    classifier = names[-1]
    rest = keep_total - weights[classifier]
    if rest < 0:
        raise UserError(f"method {ctx.method.name}: sparsity {ctx.sparsity} needs pruning part of the "
                        f"classifier {classifier} ({weights[classifier]} weights) but {what} does not "
                        f"prune it; use a lower sparsity or the option prune_classifier=true")
    return names[:-1], rest


def magnitude_global_mask(ctx: RunContext, model, *, prune_classifier: bool = False,
                          sparsity: float | None = None, within=None):
    """One global magnitude threshold (optionally sparing the classifier); `within` keeps an earlier
    mask's pruned weights pruned (iterative pruning)."""
    scores = _scores_of(model)
    if within is not None:
        scores = {n: s.masked_fill(~within[n].cpu(), -math.inf) if n in within else s
                  for n, s in scores.items()}
    return _global_mask(ctx, scores, prune_classifier=prune_classifier, sparsity=sparsity,
                        what="magnitude pruning without prune_classifier")


def _global_mask(ctx: RunContext, scores, *, prune_classifier: bool, sparsity: float | None = None,
                 largest: bool = True, what: str = "this method"):
    from tickets.pruning.masks import global_topk_mask

    names = list(scores)
    weights = {n: s.numel() for n, s in scores.items()}
    keep = _kept_total(ctx, sum(weights.values()), sparsity)
    include = names
    if not prune_classifier:
        include, keep = _classifier_excluded(ctx, names, weights, keep, what)
    return global_topk_mask(scores, keep, largest=largest, include=include)


def layer_counts(ctx: RunContext, model, rule: str) -> dict[str, int]:
    """Per-layer kept counts of a ratio rule for this run. A scored rule (snip_ratio, grasp_ratio)
    takes them from the mask its method would compute on `model` (same options, batches and
    generators as a `snip`/`grasp` run of this seed), so the counts equal that run's."""
    from tickets.pruning.ratios import keep_counts, scored_rule

    scorer = scored_rule(rule)
    if scorer is None:
        return keep_counts(rule, model, ctx.sparsity, family=ctx.family)
    from tickets.pruning.methods import method_from

    scoring = method_from(scorer).resolved(ctx.dataset, ctx.model_name)
    options = dict(samples_per_class=scoring.samples_per_class, iterations=scoring.iterations,
                   augment=scoring.augment)
    if scorer == "grasp":
        options.update(half_batches=scoring.half_batches, temperature=scoring.temperature,
                       reinit_classifier=scoring.reinit_classifier)
    mask = scored_global_mask(ctx, model, scorer, **options)
    return {n: int(m.sum()) for n, m in mask.items()}


def magnitude_layerwise_mask(ctx: RunContext, model, rule: str):
    """Per layer, the largest-magnitude weights, as many as the ratio rule's keep counts."""
    from tickets.pruning.masks import layerwise_topk_mask

    return layerwise_topk_mask(_scores_of(model), layer_counts(ctx, model, rule))


def random_global_mask(ctx: RunContext, model):
    """Exactly round(N(1-p)) weights kept at uniformly random positions over all prunable layers."""
    import torch

    from tickets.pruning.masks import prunable_weights

    gen = ctx.generator("mask:random")
    scores = {n: torch.rand(w.shape, generator=gen) for n, w in prunable_weights(model)}
    return _global_mask(ctx, scores, prune_classifier=True)


def random_layerwise_mask(ctx: RunContext, model, rule: str):
    """Random positions per layer, counts from the ratio rule (`layer_counts`)."""
    from tickets.pruning import masks

    counts = layer_counts(ctx, model, rule)
    shapes = {n: tuple(w.shape) for n, w in masks.prunable_weights(model)}
    return masks.random_layerwise_mask(counts, shapes, ctx.generator("mask:random_tickets"))


def scoring_batches(ctx: RunContext, model, samples_per_class: int, *, iterations: int = 1,
                    augment: bool = False, half_batches: bool = False):
    """The batches SNIP, GraSP and OBD score on, normalised as for training, on the model's device.

    `iterations` class-balanced batches of the pruning data (`samples_per_class` per class each,
    no sample twice), grouped by class; `augment` applies the training augmentation (random crop
    and flip where the dataset has them, as the released code's training loader does);
    `half_batches` splits each batch into its first and second half (classes 0..C/2-1 and the rest
    when grouped by class), as released GraSP does (each half has its own BatchNorm statistics).
    With the defaults: one batch, exactly the draw this project's first version made."""
    import torch

    from tickets.pruning.scorers import class_balanced_batch
    from tickets.train.batches import is_streaming, normalise, normaliser, random_crop, random_flip, training_tensors

    if is_streaming(ctx.pruning_data()):  # decode just the drawn files (tickets/pruning/file_checks.py)
        from tickets.pruning.file_checks import balanced_images

        x, y = balanced_images(ctx.pruning_data(), samples_per_class * iterations, ctx.generator("scoring-batch"),
                               augment=augment, augmenter=ctx.generator("scoring-augment"),
                               loader=getattr(ctx.config, "loader", "reference"))
    else:
        x, y = training_tensors(ctx.pruning_data())
        x, y = class_balanced_batch(x, y, samples_per_class * iterations, ctx.generator("scoring-batch"))
    if iterations > 1:  # sample j of every class goes to batch j // samples_per_class
        order = torch.arange(len(y)).view(-1, samples_per_class * iterations) if _balanced(y) else None
        if order is None:
            raise UserError(f"{iterations} scoring iterations of {samples_per_class} per class need "
                            f"{samples_per_class * iterations} training samples of every class")
        chunks = [order[:, i * samples_per_class:(i + 1) * samples_per_class].reshape(-1)
                  for i in range(iterations)]
        pairs = [(x[c.to(x.device)], y[c.to(y.device)]) for c in chunks]
    else:
        pairs = [(x, y)]
    device = next(model.parameters()).device
    scale, shift = normaliser(ctx.info, device)
    augmenter = ctx.generator("scoring-augment")
    out = []
    for xb, yb in pairs:
        xb = xb.to(device)
        if augment and ctx.info.crop_padding > 0:
            xb = random_flip(random_crop(xb, ctx.info.crop_padding, augmenter), augmenter)
        xb, yb = normalise(xb, scale, shift), yb.to(device)
        if half_batches and len(yb) > 1:
            half = len(yb) // 2
            out += [(xb[:half], yb[:half]), (xb[half:], yb[half:])]
        else:
            out.append((xb, yb))
    return out


def _balanced(y) -> bool:
    """Every class present the same number of times (class_balanced_batch got enough of each)."""
    import torch

    counts = torch.unique(y.cpu(), return_counts=True)[1]
    return bool((counts == counts[0]).all())


def scored_global_mask(ctx: RunContext, model, scorer: str, *, samples_per_class: int,
                       prune_classifier: bool = True, iterations: int = 1, augment: bool = False,
                       half_batches: bool = False, **options):
    """Score with a registered scorer on batches of the pruning data (`scoring_batches`), then one
    global threshold (keeping the highest scores, or the lowest for scorers registered with
    largest=False)."""
    from tickets.pruning.scorers import SCORERS

    fn, meta = SCORERS.get(scorer), SCORERS.meta(scorer)
    model = model.to(_device(ctx))
    batches = (scoring_batches(ctx, model, samples_per_class, iterations=iterations, augment=augment,
                               half_batches=half_batches)
               if meta.get("data", True) else None)
    scores = fn(model, batches, generator=ctx.generator(f"scorer:{scorer}"), **options)
    scores = {n: s.detach().cpu() for n, s in scores.items()}
    return _global_mask(ctx, scores, prune_classifier=prune_classifier,
                        largest=meta.get("largest", True), what=f"{scorer} without prune_classifier")


def synflow_mask(ctx: RunContext, model, iterations: int, rule: str = "reference",
                 nominal_density: bool = True):
    """SynFlow's iterative pruning over all prunable layers (data-free); `rule` = the per-round
    kept count, `nominal_density` = the schedule's d is 1 − p as released (else round(N(1−p))/N);
    see `tickets.pruning.scorers.synflow_mask`."""
    from tickets.pruning import scorers
    from tickets.pruning.masks import prunable_weights

    model = model.to(_device(ctx))
    total = sum(w.numel() for _, w in prunable_weights(model))
    mask = scorers.synflow_mask(model, _kept_total(ctx, total), iterations=iterations,
                                input_shape=ctx.info.shape, rule=rule,
                                density=(1.0 - ctx.sparsity) if nominal_density else None)
    return {n: m.cpu() for n, m in mask.items()}


def _device(ctx: RunContext):
    from tickets.train import resolve_device

    return resolve_device(ctx.device)


# --------------------------------------------------------------------------- checks

def apply_mask_check(ctx: RunContext, model, mask):
    """A mask-level sanity check (rearrange, shuffle_weights, reinit) on the retraining start:
    returns the mask to train with and changes `model`'s weights in place where the check does."""
    from tickets.pruning.checks import CHECKS

    check = CHECKS.get(ctx.check)
    if check.stage != "mask":
        return mask
    return check.apply_to_mask(model, mask, seed=ctx.seed,
                               fresh_model=lambda seed: initial_model(ctx, seed=seed))


# --------------------------------------------------------------------------- bookkeeping

def write_layers(ctx: RunContext, model, mask) -> list[dict]:
    from tickets.pruning.masks import layer_stats

    stats = layer_stats(model, mask)
    write_json(ctx.rundir / LAYERS_FILE, stats)
    return stats


def flops_ratio(ctx: RunContext, model, mask) -> float:
    """Dense / sparse multiply-accumulates of the conv and linear layers on one input: a layer's
    cost is (kept weights) × (output positions), output positions from a forward pass."""
    import torch

    from tickets.models import prunable_layers

    positions: dict[str, int] = {}
    hooks = []
    for name, layer in prunable_layers(model):
        def hook(module, inputs, output, name=name):
            positions[f"{name}.weight"] = int(math.prod(output.shape[2:])) if output.dim() > 2 else 1
        hooks.append(layer.register_forward_hook(hook))
    try:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *ctx.info.shape)))
        model.train(was_training)
    finally:
        for h in hooks:
            h.remove()
    dense = sparse = 0
    for name, layer in prunable_layers(model):
        key = f"{name}.weight"
        n = layer.weight.numel()
        kept = int(mask[key].sum()) if key in mask else n
        dense += n * positions.get(key, 1)
        sparse += kept * positions.get(key, 1)
    ratio = dense / sparse if sparse else math.inf
    write_json(ctx.rundir / "flops.json", {"dense_flops": dense, "sparse_flops": sparse, "ratio": ratio})
    return ratio
