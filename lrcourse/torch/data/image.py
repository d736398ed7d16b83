r"""An image as a regression task: pixel coordinates in, colours out, through random Fourier features.

Nothing is downloaded: :func:`image_pixels` reads a sample photograph that ships
inside scikit-learn (``sklearn.datasets.load_sample_image``), shrinks it by
averaging blocks of pixels, and maps each pixel's coordinates
:math:`v \in [0, 1)^2` to random Fourier features (Tancik et al. 2020),

.. math::

    \gamma(v) = \bigl[\cos(2\pi B v),\ \sin(2\pi B v)\bigr], \qquad
    B_{ij} \sim \mathcal{N}(0, \sigma^2),

with :math:`B` of shape ``(m, 2)`` drawn with ``seed`` (:math:`m` = ``n_frequencies``,
:math:`\sigma` = ``scale``). A network on :math:`\gamma(v)` can fit the fine detail
that one on :math:`v` itself misses (the spectral bias of MLPs); the target is the
pixel's RGB colour in :math:`[0, 1]`. The pixels are split at random into train,
validation and test, so a held-out score asks how well the fitted image
interpolates between the pixels it was trained on.

References:
    Tancik, M., Srinivasan, P. P., Mildenhall, B., Fridovich-Keil, S., Raghavan, N.,
    Singhal, U., Ramamoorthi, R., Barron, J. T. and Ng, R. (2020). Fourier features let
    networks learn high frequency functions in low dimensional domains. NeurIPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lrcourse.torch.data.tabular import SPLITS, Dataset, Split
from lrcourse.validation import check, integer, real

__all__ = ["IMAGES", "ImageDataset", "fourier_features", "image_pixels", "psnr"]

#: The sample images bundled with scikit-learn (``sklearn.datasets.load_sample_image``).
IMAGES = ("china.jpg", "flower.jpg")


@dataclass(frozen=True, eq=False)
class ImageDataset(Dataset):
    """A :class:`Dataset` of an image's pixels: Fourier features of the coordinates, RGB targets.

    ``X`` holds the features :math:`\\gamma(v)` of each pixel (``2 * n_frequencies``
    columns), ``y`` its colour, shape ``(N, 3)`` in :math:`[0, 1]`. ``image`` is the
    whole shrunken image, shape ``(size, size, 3)``; ``grid`` the features of every
    pixel in raster order (row by row), so a model's output on ``grid`` reshaped to
    ``(size, size, 3)`` is the image it fitted; ``pixels`` maps ``"train"``,
    ``"val"`` and ``"test"`` to the raster indices of their pixels.
    """

    image: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0, 3), np.float32))
    grid: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    pixels: dict[str, NDArray[np.int64]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """The side of the square image, in pixels."""
        return int(self.image.shape[0])


def fourier_features(coords: NDArray[np.floating], n_frequencies: int = 64, scale: float = 10.0, *,
                     seed: int = 0) -> NDArray[np.float64]:
    r"""Return :math:`[\cos(2\pi B v), \sin(2\pi B v)]` for each row :math:`v` of ``coords``.

    ``coords`` has shape ``(N, d)``; :math:`B` has shape ``(n_frequencies, d)`` with
    entries drawn from :math:`\mathcal{N}(0, \texttt{scale}^2)` by NumPy's generator
    seeded with ``seed``; the result has shape ``(N, 2 * n_frequencies)``, the cosines
    first (Tancik et al. 2020, their Gaussian mapping).

    >>> f = fourier_features(np.zeros((3, 2)), n_frequencies=4)
    >>> f.shape, f[:, :4].tolist() == [[1.0] * 4] * 3, f[:, 4:].tolist() == [[0.0] * 4] * 3
    ((3, 8), True, True)
    """
    coords = np.asarray(coords)
    check(coords.dtype.kind in "iuf", "coords", "an array of real numbers", coords, TypeError)
    coords = coords.astype(np.float64)
    check(coords.ndim == 2 and coords.shape[1] >= 1 and bool(np.isfinite(coords).all()), "coords",
          "a finite array of shape (N, d)", f"an array of shape {coords.shape}")
    n_frequencies = integer("n_frequencies", n_frequencies, low=1)
    scale = real("scale", scale, low=0.0, low_open=True)
    seed = integer("seed", seed, low=0)
    B = np.random.default_rng(seed).normal(0.0, scale, size=(n_frequencies, coords.shape[1]))
    angles = 2 * np.pi * coords @ B.T
    return np.concatenate([np.cos(angles), np.sin(angles)], axis=1)


@lru_cache(maxsize=len(IMAGES))
def _photo(name: str) -> NDArray[np.float64]:
    """The bundled photograph ``name`` in [0, 1], read once (decoding the JPEG takes most of a second)."""
    from sklearn.datasets import load_sample_image  # a file shipped inside scikit-learn: nothing is downloaded

    photo = load_sample_image(name).astype(np.float64) / 255.0
    photo.flags.writeable = False
    return photo


def _shrunk(name: str, size: int) -> NDArray[np.float64]:
    """The bundled image ``name``, its centre square averaged in blocks down to ``size`` × ``size``, in [0, 1]."""
    photo = _photo(name)
    block = min(photo.shape[:2]) // size
    check(block >= 1, "size", f"at most {min(photo.shape[:2])} (the image's shorter side)", size)
    side = block * size
    top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
    square = photo[top:top + side, left:left + side]
    return square.reshape(size, block, size, block, 3).mean(axis=(1, 3))


def image_pixels(name: str = "china.jpg", *, size: int = 32, n_frequencies: int = 64, scale: float = 10.0,
                 val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0,
                 dtype: type = np.float32) -> ImageDataset:
    """Return a bundled image as a pixel-regression :class:`ImageDataset`.

    The centre square of ``name`` (one of ``IMAGES``) is averaged in blocks down to
    ``size`` × ``size`` pixels; pixel ``(r, c)`` has the coordinates
    :math:`v = (r, c) / \\texttt{size}` and the features :func:`fourier_features`
    of them (``n_frequencies``, ``scale``, ``seed``), its target the RGB colour in
    :math:`[0, 1]`. The pixels are split at random with ``seed`` into train,
    validation and test in the proportions ``1 - val_fraction - test_fraction``,
    ``val_fraction``, ``test_fraction``. ``X`` and ``y`` have ``dtype``.

    >>> data = image_pixels(size=16, n_frequencies=8)
    >>> data.train.X.shape, data.val.y.shape, data.image.shape, data.grid.shape
    ((154, 16), (51, 3), (16, 16, 3), (256, 16))
    >>> bool(np.array_equal(data.train.y, data.image.reshape(-1, 3)[data.pixels["train"]]))
    True
    """
    check(name in IMAGES, "name", f"one of {IMAGES}", name)
    size = integer("size", size, low=2)
    val_fraction = real("val_fraction", val_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    test_fraction = real("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    check(val_fraction + test_fraction < 1, "val_fraction + test_fraction", "< 1", val_fraction + test_fraction)
    seed = integer("seed", seed, low=0)
    image = _shrunk(name, size)
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    coords = np.stack([rows.ravel(), cols.ravel()], axis=1) / size
    grid = fourier_features(coords, n_frequencies, scale, seed=seed).astype(dtype)
    colours = image.reshape(-1, 3).astype(dtype)
    order = np.random.default_rng(seed).permutation(size * size)
    n_test, n_val = round(test_fraction * size * size), round(val_fraction * size * size)
    pixels = {"test": np.sort(order[:n_test]), "val": np.sort(order[n_test:n_test + n_val]),
              "train": np.sort(order[n_test + n_val:])}
    check(all(len(pixels[s]) > 0 for s in SPLITS), "size", "large enough for every split to get a pixel", size)
    splits = [Split(grid[pixels[s]], colours[pixels[s]]) for s in SPLITS]
    return ImageDataset(f"{name} {size}x{size}", "regression", *splits, image=image.astype(dtype), grid=grid,
                        pixels=pixels)


def psnr(prediction: ArrayLike, target: ArrayLike, *, peak: float = 1.0) -> float:
    r"""Return the peak signal-to-noise ratio of ``prediction`` against ``target``, in decibels.

    .. math::

        \mathrm{PSNR} = 10 \log_{10} \frac{p^2}{\mathrm{MSE}}, \qquad
        \mathrm{MSE} = \frac{1}{n} \sum_i (\hat y_i - y_i)^2,

    with :math:`p` = ``peak``, the largest value a pixel can take (1 for colours in
    :math:`[0, 1]`). Every 10 dB more is a tenth of the squared error; predicting the
    mean colour of a photograph scores about 10 dB. ``prediction`` and ``target`` are
    arrays of one shape; a prediction equal to the target gives ``inf``, a non-finite
    one (a run that diverged) ``-inf``.

    >>> round(psnr([0.5, 0.5], [0.6, 0.4]), 9)   # MSE 0.01: a hundredth of the peak squared
    20.0
    >>> psnr([0.5], [0.5]), psnr([np.nan], [0.5])
    (inf, -inf)
    """
    got, want = np.asarray(prediction), np.asarray(target)
    for name, value in (("prediction", got), ("target", want)):
        check(value.dtype.kind in "iuf", name, "an array of real numbers", value, TypeError)
    got, want = got.astype(np.float64), want.astype(np.float64)
    check(got.shape == want.shape and got.size > 0, "prediction", f"a non-empty array of the target's shape "
          f"{want.shape}", f"an array of shape {got.shape}")
    check(bool(np.isfinite(want).all()), "target", "finite values", "an array with NaN or inf")
    peak = real("peak", peak, low=0.0, low_open=True)
    if not np.isfinite(got).all():
        return -math.inf
    mse = float(np.mean((got - want) ** 2))
    return 10 * math.log10(peak**2 / mse) if mse > 0 else math.inf
