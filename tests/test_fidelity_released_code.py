"""The last four differences from the released code (issue 20; docs/FIDELITY.md items 10-13): each
default now follows the released lines, re-implemented here independently, and the other behaviour
stays an option whose key is the one stored before."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from tickets.pruning import scorers
from tickets.pruning.methods import method_from

from test_fidelity_scoring import Tiny, context, released_synflow_mask

pytestmark = pytest.mark.usefixtures("single_thread")


def _stage(method, model="resnet32", **options):
    from tickets.domain import DOMAIN

    return DOMAIN.expand({"dataset": "cifar10", "model": model, "method": method,
                          "method_options": options, "sparsity": 0.9, "seed": 0})[-1]


# ----------------------------------------------------------------------------- 10. SynFlow's density

def released_kept_counts(total: int, density: float, rounds: int) -> list[int]:
    """Synaptic-Flow prune.py: sparse = density**((epoch+1)/epochs); pruners.py prunes
    k = int((1 - sparse) * N) weights (no ties), so round r keeps N - k."""
    return [total - int((1.0 - density ** ((r + 1) / rounds)) * total) for r in range(rounds)]


def test_synflow_schedule_uses_the_released_density(tmp_path):
    torch.manual_seed(3)
    net = Tiny()
    total = sum(m.weight.numel() for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    p, rounds = 0.93, 20
    keep = round(total * (1 - p))
    # the two densities really differ on this network: the intermediate counts disagree
    assert released_kept_counts(total, 1 - p, rounds)[:-1] != released_kept_counts(total, keep / total, rounds)[:-1]
    ctx = dataclasses.replace(context(tmp_path, method="synflow"), sparsity=p)
    got = method_from("synflow", {"iterations": rounds}).mask(ctx, net)
    want, counts = released_synflow_mask(net, 1 - p, rounds, (3, 8, 8))
    assert sum(int(m.sum()) for m in got.values()) == keep
    for g, w in zip(got.values(), want):
        assert (g.cpu() != w).sum() <= 1  # the released threshold's tie rule aside (item 5)
    # every intermediate round keeps the released count: re-run the loop up to each round
    for stop in (3, 10, rounds - 1):
        partial = scorers.synflow_mask(net, counts[stop - 1], iterations=stop, input_shape=(3, 8, 8),
                                       rule="reference", density=(1 - p) ** (stop / rounds))
        assert sum(int(m.sum()) for m in partial.values()) == released_kept_counts(total, 1 - p, rounds)[stop - 1]
    # schedule_density=kept is the previous default, d = round(N(1-p))/N
    old = method_from("synflow", {"iterations": rounds, "schedule_density": "kept"}).mask(ctx, net)
    prior = scorers.synflow_mask(net, keep, iterations=rounds, input_shape=(3, 8, 8), rule="reference")
    assert all(torch.equal(old[n].cpu(), prior[n].cpu()) for n in old)


def test_synflow_kept_schedule_keeps_the_keys_stored_before():
    # main before issue 20: the default synflow stage (fidelity=released, d = round(N(1-p))/N)
    assert _stage("synflow", schedule_density="kept").key == "353eced376fe55fb"
    assert _stage("synflow", iterations=20, schedule_density="kept").key == "11969c6ce99ab6d5"
    assert _stage("synflow", fidelity="v1").key == "a3efc71cbf07f0bc"  # v1 used the kept density too
    new = _stage("synflow")
    assert new.key not in ("353eced376fe55fb", "a3efc71cbf07f0bc")
    assert new.identity["method"]["schedule_density"] == "nominal" and new.columns["variant"] == ""
    assert _stage("synflow", schedule_density="nominal").key == new.key
    assert _stage("synflow", schedule_density="kept").columns["variant"] == "schedule_density=kept"


# ----------------------------------------------------------------------------- 11. L1 ResNet shortcut

def released_downsample_basic_block(x, planes):
    """models/resnet.py: AvgPool2d(2, 2), zero channels, Variable(torch.cat([x.data, zero_pads]))."""
    x = nn.AvgPool2d(2, 2)(x)
    zero_pads = torch.zeros(x.size(0), planes - x.size(1), x.size(2), x.size(3))
    return torch.cat([x.data, zero_pads], dim=1)


def test_l1_resnet_shortcut_passes_no_gradient_as_released():
    from tickets.data import dataset_info
    from tickets.models import build_model

    info = dataset_info("cifar10")
    torch.manual_seed(0)
    ours = build_model("resnet56_l1", info)
    torch.manual_seed(0)
    earlier = build_model("resnet56_l1", info, shortcut_grad=True)
    block = ours.blocks[9]  # the first block of stage 2: stride 2, 16 -> 32 channels
    assert block.stride == 2 and block.pad == 16
    inner = torch.randn(2, 16, 32, 32, requires_grad=True)
    out = block(inner)
    grad = torch.autograd.grad(out.sum(), inner)[0]
    ref_in = inner.detach().clone().requires_grad_(True)
    residual = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(ref_in)))))
    ref = torch.relu(residual + released_downsample_basic_block(ref_in, 32))
    assert torch.allclose(out, ref, atol=1e-6)
    assert torch.allclose(grad, torch.autograd.grad(ref.sum(), ref_in)[0], atol=1e-6)
    # whole network: the same forward pass, other gradients (the shortcut's share is missing)
    x, y = torch.randn(4, 3, 32, 32), torch.arange(4)
    assert torch.allclose(ours(x), earlier(x), atol=1e-6)
    torch.nn.functional.cross_entropy(ours(x), y).backward()
    torch.nn.functional.cross_entropy(earlier(x), y).backward()
    differ = sum(not torch.allclose(a.grad, b.grad) for a, b in zip(ours.parameters(), earlier.parameters()))
    assert differ > 50


# main before issue 20 (l1_filter variant A on CIFAR-10, seed 0: pretrain and pipeline stages)
OLD_KEYS = {"resnet56_l1": ["b6ad5933c534e1d4", "0a2da125a33c8a30"],
            "vgg16_l1": ["7f82b043603979f9", "e3b807c2800584fa"]}
EARLIER = {"resnet56_l1": {"shortcut_grad": True}, "vgg16_l1": {"classifier_bn_init": 0.5}}


@pytest.mark.parametrize("model", sorted(OLD_KEYS))
def test_l1_model_fixes_keep_the_keys_stored_before(model):
    from tickets.domain import DOMAIN

    def keys(options):
        return DOMAIN.expand({"dataset": "cifar10", "model": model, "method": "l1_filter",
                              "method_options": {"variant": "A"}, "model_options": options,
                              "sparsity": 0.0, "seed": 0})

    old = keys(EARLIER[model])
    assert [s.key for s in old] == OLD_KEYS[model]  # the earlier network: the stored keys
    assert old[-1].columns["variant"] == " ".join(f"model.{k}={v}" for k, v in EARLIER[model].items())
    new = keys({})
    assert not {s.key for s in new} & set(OLD_KEYS[model]) and new[-1].columns["variant"] == ""


# ----------------------------------------------------------------------------- 12. vgg16_l1 BN1d init

def test_vgg16_l1_classifier_batchnorm_starts_at_one_as_released():
    from tickets.data import dataset_info
    from tickets.models import build_model

    net = build_model("vgg16_l1", dataset_info("cifar10"))
    # released _initialize_weights: only BatchNorm2d is filled with 0.5; BN1d keeps PyTorch's 1.0
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 0.5)
        elif isinstance(m, nn.BatchNorm1d):
            assert torch.all(m.weight == 1.0) and torch.all(m.bias == 0.0)
    earlier = build_model("vgg16_l1", dataset_info("cifar10"), classifier_bn_init=0.5)
    assert torch.all(earlier.classifier[1].weight == 0.5)


# ----------------------------------------------------------------------------- 13. FLOPs conventions

def released_compute_flops(model, input_res=32):
    """cifar/l1-norm-pruning/compute_flops.py, hooks on leaf modules only, batch of 3, total / 3."""
    import numpy as np

    counted = []

    def conv_hook(self, input, output):
        _, _, _, _ = input[0].size()
        c, h, w = output[0].size()
        kernel_ops = self.kernel_size[0] * self.kernel_size[1] * (self.in_channels / self.groups)
        bias_ops = 1 if self.bias is not None else 0
        counted.append((kernel_ops * 2 + bias_ops) * c * h * w * 3)

    def linear_hook(self, input, output):
        batch = input[0].size(0) if input[0].dim() == 2 else 1
        counted.append(batch * (self.weight.nelement() * 2 + self.bias.nelement()))

    def bn_hook(self, input, output):
        counted.append(input[0].nelement() * 2)

    def relu_hook(self, input, output):
        counted.append(input[0].nelement())

    def pool_hook(self, input, output):
        c, h, w = output[0].size()
        counted.append(self.kernel_size * self.kernel_size * c * h * w * 3)

    for m in model.modules():
        if list(m.children()):
            continue
        hook = {nn.Conv2d: conv_hook, nn.Linear: linear_hook, nn.BatchNorm2d: bn_hook, nn.ReLU: relu_hook,
                nn.MaxPool2d: pool_hook, nn.AvgPool2d: pool_hook}.get(type(m))
        if hook:
            m.register_forward_hook(hook)
    model.eval()
    with torch.no_grad():
        model(torch.rand(3, 3, input_res, input_res))
    return float(np.sum(counted)) / 3


def test_released_flops_convention_matches_compute_flops():
    from tickets.data import dataset_info
    from tickets.models import build_model
    from tickets.pruning.structured.cost import count, released_flops

    info = dataset_info("cifar10")
    vgg = build_model("vgg16_l1", info)
    ours = released_flops(vgg, info.shape)
    # the released script misses the final average pool, which its VGG makes inside forward
    # (ours is functional there too); 2 x 2 x 512 = 2,048 operations
    assert ours - released_compute_flops(vgg) == 2048
    assert round(ours / 1e6, 1) == 627.9 and round(count(vgg, info.shape)["flops"] / 1e6, 1) == 313.5
    # a network built of modules only: identical
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 4, 3, padding=1, bias=False), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                        nn.Linear(4 * 8 * 8, 10))
    assert released_flops(net, (3, 32, 32)) == released_compute_flops(net)


def test_scratch_b_flops_convention_is_an_option_and_keys_stay():
    from registry.errors import UserError
    from tickets.pruning.structured.methods import scratch_b_epochs

    method = method_from("l1_filter", {"retrain": "scratch_b", "flops_convention": "released"})
    assert method.identity()["flops_convention"] == "released"
    assert "flops_convention" not in method_from("l1_filter", {"retrain": "scratch_b"}).identity()
    with pytest.raises(UserError, match="flops_convention must be one of macs, released"):
        method_from("l1_filter", {"flops_convention": "ptflops"})
    # the paper's cap (Section 4); the released main_B.py has none: int(160 * ratio)
    assert scratch_b_epochs(160, 3000, 1000, 2.0) == 320
    assert scratch_b_epochs(160, 3000, 1000, 100.0) == int(160 * 3000 / 1000)


def test_structured_rebuild_keeps_the_model_options():
    from tickets.data.info import DatasetInfo
    from tickets.models import build_model
    from tickets.pruning.structured import rebuild, select

    info = DatasetInfo("small", 3, 8, 10, mean=(0.5,) * 3, std=(0.25,) * 3)
    large = build_model("resnet56_l1", info, shortcut_grad=True)
    counts = {g.name: max(1, g.size // 2) for g in large.channel_groups()}
    small, _ = rebuild.rebuild(large, "resnet56_l1", info, select.l1_kept(large, counts),
                               options={"shortcut_grad": True, "channels": None})
    assert all(b.shortcut_grad for b in small.blocks)
    small, _ = rebuild.rebuild(large, "resnet56_l1", info, select.l1_kept(large, counts))
    assert not any(b.shortcut_grad for b in small.blocks)  # the default: released, no gradient
