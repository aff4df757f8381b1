"""Device-resident batching and tensor augmentation: shapes, shifts, flips, seeding, coverage."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from test_train_support import tiny_data
from tickets.train import iterate_batches, make_loader, normalise, random_crop, random_flip
from tickets.train.batches import normaliser


def _images(b=64, c=2, h=6, w=7):
    # every pixel distinct and non-zero, so a crop's position can be read off its values
    return (torch.arange(b * c * h * w) % 250 + 1).view(b, c, h, w).to(torch.uint8)


def test_crop_keeps_shape_and_is_a_shifted_window_of_the_padded_image():
    x = _images()
    p = 2
    out = random_crop(x, p, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = F.pad(x, (p, p, p, p))
    offsets = []
    for i in range(len(x)):
        hits = [(dy, dx) for dy in range(2 * p + 1) for dx in range(2 * p + 1)
                if torch.equal(padded[i, :, dy:dy + 6, dx:dx + 7], out[i])]
        assert hits, f"sample {i} is not a window of its padded image"
        offsets.append(hits[0])
    assert len(set(offsets)) > 5  # per-sample offsets, not one for the batch
    shifted = [i for i, o in enumerate(offsets) if o != (p, p)]
    assert shifted and all((out[i] == 0).any() for i in shifted)  # zero padding came in
    assert torch.equal(random_crop(x, 0, torch.Generator()), x)


def test_flip_flips_about_half_of_the_samples():
    x = _images(b=200)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = [torch.equal(out[i], x[i].flip(2)) for i in range(len(x))]
    same = [torch.equal(out[i], x[i]) for i in range(len(x))]
    assert all(f or s for f, s in zip(flipped, same))
    assert 60 < sum(flipped) < 140


def test_same_generator_state_gives_the_same_augmented_batches():
    data = tiny_data()
    loader = make_loader(data, 32, device="cpu", augment=True)
    a = list(loader.batches(torch.Generator().manual_seed(3)))
    b = list(loader.batches(torch.Generator().manual_seed(3)))
    c = list(loader.batches(torch.Generator().manual_seed(4)))
    assert all(torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(a, b))
    assert not all(torch.equal(x1, x2) for (x1, _), (x2, _) in zip(a, c))


def test_one_pass_covers_every_sample_once_including_the_last_partial_batch():
    data = tiny_data(n_train=100)
    data.y_train = torch.arange(100)  # labels as sample ids
    loader = make_loader(data, 32, device="cpu", augment=False)
    batches = list(loader.batches(torch.Generator().manual_seed(0)))
    assert len(loader) == len(batches) == math.ceil(100 / 32)
    assert [len(y) for _, y in batches] == [32, 32, 32, 4]
    seen = torch.cat([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(100)) and seen.tolist() != list(range(100))
    # without augmentation the images are just normalised, matched to their ids
    x, y = batches[0]
    scale, shift = normaliser(data.info, torch.device("cpu"))
    expected = (data.x_train[y].float() / 255 - 0.5) / 0.25
    assert torch.allclose(x, expected, atol=1e-5)
    assert torch.allclose(normalise(data.x_train[y], scale, shift), expected, atol=1e-5)


def test_no_augmentation_without_crop_padding_and_train_view_replaces_the_data():
    data = tiny_data(crop_padding=0)
    loader = make_loader(data, 64, device="cpu", augment=True)
    assert loader.padding == 0
    view_x = torch.zeros(10, 3, 8, 8, dtype=torch.uint8)
    view_y = torch.full((10,), 2)
    batches = list(iterate_batches(data, 4, generator=torch.Generator().manual_seed(0),
                                   device="cpu", train_view=(view_x, view_y)))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert all((y == 2).all() and torch.allclose(x, torch.full_like(x, -2.0)) for x, y in batches)


def test_channels_last_batches():
    loader = make_loader(tiny_data(), 16, device="cpu", augment=True, channels_last=True)
    x, _ = next(iter(loader.batches(torch.Generator().manual_seed(0))))
    assert x.is_contiguous(memory_format=torch.channels_last) and x.dtype == torch.float32
