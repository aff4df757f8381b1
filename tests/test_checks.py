"""Sanity checks: seeded data corruptions and mask/weight operations do what the paper says."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from registry.errors import UserError
from tickets.pruning.checks import CHECKS, check_generator, reinit_seed
from tickets.pruning.masks import mask_counts, prunable_weights, random_layerwise_mask


def images(n=2000, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 4, 4), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (n,), generator=g)
    return x, y


def test_stages():
    stages = {name: CHECKS.get(name).stage for name in CHECKS.names()}
    assert stages == {"none": "none", "random_labels": "data", "random_pixels": "data", "corrupt": "data",
                      "half_data": "data", "half_data_seed": "data", "rearrange": "mask",
                      "shuffle_weights": "mask", "reinit": "mask"}
    with pytest.raises(UserError, match="known: .*rearrange"):
        CHECKS.get("rearange_typo")


def test_random_labels_uniform_and_seeded():
    x, y = images()
    check = CHECKS.get("random_labels")
    x1, y1 = check.corrupt_data(x, y, num_classes=10, seed=0)
    _, y2 = check.corrupt_data(x, y, num_classes=10, seed=0)
    _, y3 = check.corrupt_data(x, y, num_classes=10, seed=1)
    assert x1 is x and torch.equal(y1, y2) and not torch.equal(y1, y3)
    counts = torch.bincount(y1, minlength=10).double()
    chi2 = float(((counts - 200) ** 2 / 200).sum())
    assert chi2 < 30  # 9 degrees of freedom: p ~ 0.0005 at 30
    assert float((y1 == y).double().mean()) == pytest.approx(0.1, abs=0.03)  # unrelated to the truth


def test_random_pixels_permute_each_image_independently():
    x, y = images(200)
    check = CHECKS.get("random_pixels")
    x1, y1 = check.corrupt_data(x, y, num_classes=10, seed=0)
    x2, _ = check.corrupt_data(x, y, num_classes=10, seed=0)
    x3, _ = check.corrupt_data(x, y, num_classes=10, seed=5)
    assert y1 is y and torch.equal(x1, x2) and not torch.equal(x1, x3)
    flat, flat1 = x.view(200, -1), x1.view(200, -1)
    # same multiset of values per image, different order
    assert torch.equal(flat.sort(dim=1).values, flat1.sort(dim=1).values)
    assert float((flat == flat1).double().mean()) < 0.1
    # each image has its own permutation: recover it from distinct-valued images
    z = torch.arange(48).repeat(3, 1).view(3, 3, 4, 4).to(torch.uint8)
    zp, _ = check.corrupt_data(z, torch.zeros(3, dtype=torch.long), num_classes=10, seed=0)
    perms = zp.view(3, -1)
    assert not torch.equal(perms[0], perms[1]) and not torch.equal(perms[1], perms[2])
    assert x.view(200, -1).sum() == x1.view(200, -1).sum()


def test_corrupt_is_labels_plus_pixels():
    x, y = images(300)
    xc, yc = CHECKS.get("corrupt").corrupt_data(x, y, num_classes=10, seed=3)
    xp, _ = CHECKS.get("random_pixels").corrupt_data(x, y, num_classes=10, seed=3)
    _, yl = CHECKS.get("random_labels").corrupt_data(x, y, num_classes=10, seed=3)
    assert torch.equal(xc, xp) and torch.equal(yc, yl)


def test_half_data():
    x, y = images(1001)
    xh, yh = CHECKS.get("half_data").corrupt_data(x, y, num_classes=10, seed=0)
    assert len(xh) == 500 and len(yh) == 500
    # rows are real, distinct training samples with their own labels
    index = {bytes(x[i].flatten().tolist()) + bytes([int(y[i])]): i for i in range(len(x))}
    picked = {index[bytes(xh[i].flatten().tolist()) + bytes([int(yh[i])])] for i in range(len(xh))}
    assert len(picked) == 500
    xo, _ = CHECKS.get("half_data").corrupt_data(x, y, num_classes=10, seed=1)
    assert not torch.equal(xh, xo)


def net_and_mask(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 5))
    shapes = {n: tuple(w.shape) for n, w in prunable_weights(net)}
    mask = random_layerwise_mask({"0.weight": 150, "2.weight": 30}, shapes, torch.Generator().manual_seed(9))
    return net, mask


def test_rearrange_keeps_counts_moves_positions():
    net, mask = net_and_mask()
    new = CHECKS.get("rearrange").apply_to_mask(net, mask, seed=0)
    assert mask_counts(new) == mask_counts(mask)
    for n in mask:
        assert new[n].shape == mask[n].shape
        overlap = int((new[n] & mask[n]).sum())
        assert overlap < int(mask[n].sum())  # positions moved
    again = CHECKS.get("rearrange").apply_to_mask(net_and_mask()[0], mask, seed=0)
    assert all(torch.equal(again[n], new[n]) for n in new)
    w = dict(prunable_weights(net))
    assert all((w[n][~new[n]] == 0).all() for n in new)


def test_shuffle_weights_keeps_mask_permutes_values():
    net, mask = net_and_mask()
    before = {n: w.detach().clone() for n, w in prunable_weights(net)}
    new = CHECKS.get("shuffle_weights").apply_to_mask(net, mask, seed=0)
    assert all(torch.equal(new[n], mask[n]) for n in mask)
    for n, w in prunable_weights(net):
        kept_before, kept_after = before[n][mask[n]], w.detach()[mask[n]]
        assert torch.equal(kept_before.sort().values, kept_after.sort().values)  # same multiset
        assert not torch.equal(kept_before, kept_after)  # new positions
        assert (w[~mask[n]] == 0).all()


def test_reinit_same_mask_fresh_weights():
    net, mask = net_and_mask(seed=0)
    original = {n: w.detach().clone() for n, w in prunable_weights(net)}

    def fresh(seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 5))

    new = CHECKS.get("reinit").apply_to_mask(net, mask, seed=0, fresh_model=fresh)
    expected = dict(prunable_weights(fresh(reinit_seed(0))))
    for n, w in prunable_weights(net):
        assert torch.equal(new[n], mask[n])
        torch.testing.assert_close(w.detach(), expected[n].detach() * mask[n])
        assert not torch.allclose(w.detach()[mask[n]], original[n][mask[n]])
    with pytest.raises(UserError, match="reinit"):
        CHECKS.get("reinit").apply_to_mask(net, mask, seed=0)


def test_none_and_generators():
    x, y = images(10)
    assert CHECKS.get("none").corrupt_data(x, y, num_classes=10, seed=0) == (x, y)
    a = torch.rand(3, generator=check_generator(1, "rearrange"))
    b = torch.rand(3, generator=check_generator(1, "rearrange"))
    c = torch.rand(3, generator=check_generator(1, "shuffle_weights"))
    assert torch.equal(a, b) and not torch.equal(a, c)
