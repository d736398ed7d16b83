"""scikit-learn's bundled datasets as seeded, standardised train/validation/test splits."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from lrcourse.torch.device import get_device
from lrcourse.validation import check, flag, integer, real

__all__ = ["Split", "Dataset", "load", "imbalanced", "NAMES"]

NAMES = ("digits", "breast_cancer", "wine", "diabetes")
SPLITS = ("train", "val", "test")


class Split(NamedTuple):
    """Inputs ``X`` (one row per example) and targets ``y`` of one split."""

    X: NDArray[Any]
    y: NDArray[Any]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Three splits of a dataset, as NumPy arrays, with torch views of them.

    ``task`` is ``"classification"`` (``y`` holds int64 labels ``0 … n_classes - 1``)
    or ``"regression"`` (``y`` holds floats). ``classes`` are the original labels
    behind ``0, 1, …`` (empty for regression).
    """

    name: str
    task: Literal["classification", "regression"]
    train: Split
    val: Split
    test: Split
    classes: tuple[int, ...] = ()

    @property
    def n_features(self) -> int:
        """The length of one input's last axis (64 for the 8×8 digits)."""
        return int(self.train.X.shape[-1])

    @property
    def n_classes(self) -> int:
        """The number of classes, 0 for regression."""
        return len(self.classes)

    def split(self, split: str) -> Split:
        """Return the split named ``"train"``, ``"val"`` or ``"test"``."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return getattr(self, split)

    def class_counts(self, split: str = "train") -> NDArray[np.int64]:
        """Return the number of examples of each class in ``split``."""
        if self.task != "classification":
            raise ValueError(f"class_counts needs a classification dataset, {self.name} is {self.task}")
        return np.bincount(self.split(split).y, minlength=self.n_classes)

    def tensors(self, split: str = "train", device: str | torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(X, y)`` of ``split`` as torch tensors on ``device`` (default: :func:`~lrcourse.torch.device.get_device`).

        On the CPU the tensors share memory with the NumPy arrays (no copy).
        """
        X, y = self.split(split)
        device = get_device(device)
        return torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)

    def loader(self, split: str = "train", batch_size: int = 64, *, shuffle: bool | None = None,
               device: str | torch.device | None = None) -> DataLoader:
        """Return a DataLoader over ``split`` in minibatches of ``batch_size``.

        ``shuffle`` defaults to ``True`` for ``"train"`` only. Each epoch's order is
        drawn from torch's global generator when the epoch starts, and
        :func:`lrcourse.torch.training.fit` seeds that generator, so a run's batches depend
        on its seed alone, however often the loader was used before. The last batch
        may be smaller. The whole split is moved to ``device`` once; a batch is one
        indexing of those tensors (no per-example Python calls).

        >>> import torch
        >>> loader = load("wine").loader("train", batch_size=32)
        >>> len(loader), [len(y) for _, y in loader]
        (4, [32, 32, 32, 10])
        """
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        X, y = self.tensors(split, device)
        dataset = TensorDataset(X, y)
        shuffle = split == "train" if shuffle is None else shuffle
        order = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        # The sampler yields lists of indices; batch_size=None hands each list to the
        # dataset as it is, so a batch is (X[indices], y[indices]).
        return DataLoader(dataset, sampler=BatchSampler(order, batch_size, drop_last=False), batch_size=None)


def _bundled(name: str) -> tuple[NDArray[np.float64], NDArray[Any]]:
    # load_* read files shipped inside scikit-learn: nothing is downloaded.
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def load(name: str, *, seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2,
         classes: tuple[int, ...] | None = None, standardize: bool = True,
         dtype: type = np.float32) -> Dataset:
    """Load one of scikit-learn's bundled datasets, split and standardised.

    ``name`` is ``"digits"`` (1,797 8×8 images of 10 digits), ``"breast_cancer"`` (569
    tumours, 2 classes), ``"wine"`` (178 wines, 3 classes) or ``"diabetes"`` (442
    patients, a regression). The splits are drawn with ``seed``, stratified by class
    for classification, in the proportions ``1 - val_fraction - test_fraction``,
    ``val_fraction``, ``test_fraction``. ``classes`` keeps only those labels,
    renumbered ``0, 1, …`` in the order given (e.g. ``(5, 6, 7, 8, 9)`` becomes
    ``0 … 4``).

    With ``standardize``, every feature is shifted and scaled by the training
    split's mean and standard deviation (a constant feature, such as a digit's corner
    pixel, is only shifted), and so is a regression target; the validation and test
    splits never inform the scaling. ``X`` has ``dtype``; ``y`` is int64 for labels
    and ``dtype`` for a regression target.

    >>> digits = load("digits")
    >>> digits.train.X.shape, digits.val.X.shape, digits.test.X.shape, digits.n_classes
    ((1077, 64), (360, 64), (360, 64), 10)
    >>> float(abs(digits.train.X.mean(axis=0)).max()) < 1e-6
    True
    """
    from sklearn.model_selection import train_test_split

    check(name in NAMES, "name", f"one of {NAMES}", name)
    seed = integer("seed", seed, low=0, high=2**32 - 1)  # scikit-learn's random_state
    val_fraction = real("val_fraction", val_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    test_fraction = real("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    check(val_fraction + test_fraction < 1, "val_fraction + test_fraction", "< 1", val_fraction + test_fraction)
    standardize = flag("standardize", standardize)
    if classes is not None:
        allowed = "a sequence of integer labels (or None)"
        check(isinstance(classes, Iterable) and not isinstance(classes, (str, bytes)), "classes", allowed, classes,
              TypeError)
        classes = tuple(classes)
        check(all(isinstance(c, numbers.Integral) and not isinstance(c, (bool, np.bool_)) for c in classes),
              "classes", allowed, classes, TypeError)
    X, y = _bundled(name)
    task = "regression" if name == "diabetes" else "classification"
    labels: tuple[int, ...] = ()
    if task == "classification":
        labels = tuple(int(c) for c in (np.unique(y) if classes is None else classes))
        unknown = sorted(set(labels) - set(np.unique(y).tolist()))
        if unknown or len(set(labels)) != len(labels) or len(labels) < 2:
            raise ValueError(f"classes must be at least two distinct labels of {name}, "
                             f"{np.unique(y).tolist()}, got {classes!r}")
        keep = np.isin(y, labels)
        renumber = {label: i for i, label in enumerate(labels)}
        X, y = X[keep], np.array([renumber[int(label)] for label in y[keep]], dtype=np.int64)
    elif classes is not None:
        raise ValueError(f"classes applies to classification datasets only, {name} is a regression")

    stratify = y if task == "classification" else None
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=test_fraction, random_state=seed,
                                                      stratify=stratify)
    stratify = y_rest if task == "classification" else None
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=val_fraction / (1 - test_fraction),
                                                      random_state=seed, stratify=stratify)
    splits = {"train": (X_train, y_train), "val": (X_val, y_val), "test": (X_test, y_test)}
    if standardize:
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        splits = {key: ((Xs - mean) / std, ys) for key, (Xs, ys) in splits.items()}
        if task == "regression":
            y_mean, y_std = y_train.mean(), y_train.std()
            splits = {key: (Xs, (ys - y_mean) / y_std) for key, (Xs, ys) in splits.items()}
    y_dtype = np.int64 if task == "classification" else dtype
    return Dataset(name, task, *(Split(Xs.astype(dtype), ys.astype(y_dtype)) for Xs, ys in splits.values()),
                   classes=labels)


def imbalanced(data: Dataset, ratio: float = 10.0, *, seed: int = 0) -> Dataset:
    """Return ``data`` with geometrically fewer examples of each successive class.

    Class :math:`c` of :math:`C` keeps a fraction :math:`r^{-c/(C-1)}` of its
    training and validation examples (at least one), :math:`r` being ``ratio``:
    class 0 keeps all, the last class a :math:`1/r`-th, so the largest class
    outnumbers the smallest about :math:`r` to 1. The examples kept are drawn with
    ``seed``. The test split is left balanced, so per-class accuracy on it measures
    what the imbalance did to the rare classes.

    >>> digits = imbalanced(load("digits"), ratio=10.0)
    >>> digits.class_counts("train").tolist()
    [107, 84, 64, 51, 39, 30, 23, 18, 13, 11]
    """
    check(isinstance(data, Dataset), "data", "a Dataset (what load returns)", data, TypeError)
    if data.task != "classification":
        raise ValueError(f"imbalanced needs a classification dataset, {data.name} is {data.task}")
    ratio = real("ratio", ratio, low=1.0)
    rng = np.random.default_rng(integer("seed", seed, low=0))
    keep_fraction = ratio ** (-np.arange(data.n_classes) / (data.n_classes - 1))

    def subsample(split: Split) -> Split:
        kept = []
        for c, fraction in enumerate(keep_fraction):
            members = np.flatnonzero(split.y == c)
            n = max(1, round(fraction * len(members)))
            kept.append(np.sort(rng.choice(members, size=n, replace=False)))
        index = np.sort(np.concatenate(kept))
        return Split(split.X[index], split.y[index])

    return replace(data, name=f"{data.name} (imbalanced {ratio:g}:1)", train=subsample(data.train),
                   val=subsample(data.val))
