"""The image loader: a bundled photograph as pixels, Fourier features of their coordinates, and the PSNR."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrcourse.torch.data import ImageDataset, fourier_features, image_pixels, psnr


def test_features_are_the_cosines_and_sines_of_a_seeded_gaussian_projection():
    coords = np.array([[0.0, 0.0], [0.25, 0.5], [0.9, 0.1]])
    B = np.random.default_rng(3).normal(0.0, 2.0, size=(5, 2))  # the draw the docstring names, made here by hand
    expected = np.concatenate([np.cos(2 * np.pi * coords @ B.T), np.sin(2 * np.pi * coords @ B.T)], axis=1)
    np.testing.assert_allclose(fourier_features(coords, 5, 2.0, seed=3), expected, rtol=1e-12, atol=1e-12)
    assert not np.allclose(fourier_features(coords, 5, 2.0, seed=4), expected)  # another seed, other frequencies


def test_pixels_split_the_image_and_match_its_colours():
    data = image_pixels(size=12, n_frequencies=6, scale=3.0, seed=2)
    assert isinstance(data, ImageDataset) and data.task == "regression" and data.size == 12
    assert data.image.shape == (12, 12, 3) and data.grid.shape == (144, 12)
    everyone = np.concatenate([data.pixels[s] for s in ("train", "val", "test")])
    assert sorted(everyone.tolist()) == list(range(144))  # each pixel in exactly one split
    assert len(data.pixels["val"]) == round(0.2 * 144) == len(data.pixels["test"])
    for split in ("train", "val", "test"):
        X, y = data.split(split)
        np.testing.assert_array_equal(X, data.grid[data.pixels[split]])
        np.testing.assert_array_equal(y, data.image.reshape(-1, 3)[data.pixels[split]])
    assert 0.0 <= data.image.min() and data.image.max() <= 1.0 and data.image.std() > 0.05  # a photograph, not flat
    assert data.train.X.dtype == np.float32 and data.train.y.dtype == np.float32


def test_the_image_is_the_mean_of_blocks_of_the_photograph():
    from sklearn.datasets import load_sample_image

    photo = load_sample_image("china.jpg").astype(np.float64) / 255
    side = min(photo.shape[:2]) // 8 * 8
    top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
    block = side // 8
    corner = photo[top:top + block, left:left + block].mean(axis=(0, 1))  # the first block, averaged by hand
    data = image_pixels(size=8, n_frequencies=2, dtype=np.float64)
    np.testing.assert_allclose(data.image[0, 0], corner, rtol=1e-12)


def test_the_same_seed_gives_the_same_dataset():
    a, b = image_pixels(size=10, n_frequencies=4, seed=5), image_pixels(size=10, n_frequencies=4, seed=5)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_array_equal(a.pixels["test"], b.pixels["test"])


def test_psnr_by_hand():
    target = np.array([[0.2, 0.4, 0.6], [0.8, 1.0, 0.0]])
    assert psnr(target + 0.1, target) == pytest.approx(20.0, rel=1e-12)  # MSE 0.01
    assert psnr(2 * (target + 0.1), 2 * target, peak=2.0) == pytest.approx(20.0, rel=1e-12)
    assert psnr(target, target) == math.inf and psnr(target * np.nan, target) == -math.inf


@pytest.mark.parametrize("call, error, match", [
    (lambda: image_pixels("lena.png"), ValueError, "name"),
    (lambda: image_pixels(size=1), ValueError, "size"),
    (lambda: image_pixels(size=1000), ValueError, "size"),
    (lambda: image_pixels(size=2, val_fraction=0.1), ValueError, "size"),  # 4 pixels: no validation pixel
    (lambda: image_pixels(val_fraction=0.6, test_fraction=0.5), ValueError, "val_fraction"),
    (lambda: fourier_features(np.zeros(3)), ValueError, "coords"),
    (lambda: fourier_features(np.zeros((2, 2)), scale=0.0), ValueError, "scale"),
    (lambda: psnr(np.zeros(3), np.zeros(4)), ValueError, "prediction"),
    (lambda: psnr(np.zeros(3), np.full(3, np.nan)), ValueError, "target"),
])
def test_bad_input_names_the_parameter(call, error, match):
    with pytest.raises(error, match=match):
        call()
