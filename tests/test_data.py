"""Datasets: splits that partition the data, scaling as scikit-learn's, seeds, loaders, the adding problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import datasets
from sklearn.preprocessing import StandardScaler

from lrcourse.torch.data import NAMES, adding, adding_problem, imbalanced, load

SIZES = {"digits": (1797, 64, 10), "breast_cancer": (569, 30, 2), "wine": (178, 13, 3), "diabetes": (442, 10, 0)}


def sorted_rows(X: np.ndarray) -> np.ndarray:
    return X[np.lexsort(X.T[::-1])]


@pytest.mark.parametrize("name", NAMES)
def test_splits_partition_the_bundled_data(name: str) -> None:
    n, n_features, n_classes = SIZES[name]
    data = load(name, standardize=False, dtype=np.float64)
    X_all, y_all = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = np.concatenate([data.train.X, data.val.X, data.test.X])
    y = np.concatenate([data.train.y, data.val.y, data.test.y])
    assert X.shape == (n, n_features) and data.n_features == n_features and data.n_classes == n_classes
    # The same multiset of (features, target) rows: nothing lost, nothing duplicated.
    np.testing.assert_array_equal(sorted_rows(np.column_stack([X, y])), sorted_rows(np.column_stack([X_all, y_all])))
    assert len(data.val.y) == pytest.approx(0.2 * n, abs=1) and len(data.test.y) == pytest.approx(0.2 * n, abs=1)


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "wine"])
def test_classification_splits_are_stratified(name: str) -> None:
    data = load(name)
    overall = np.bincount(np.concatenate([data.train.y, data.val.y, data.test.y])) / SIZES[name][0]
    for split in ("train", "val", "test"):
        counts = data.class_counts(split)
        assert np.all(np.abs(counts - overall * counts.sum()) <= 1.5), (split, counts)
    assert data.train.y.dtype == np.int64 and data.task == "classification"


@pytest.mark.parametrize("name", NAMES)
def test_standardisation_equals_scikit_learns_scaler_fitted_on_train(name: str) -> None:
    raw = load(name, standardize=False, dtype=np.float64, seed=3)
    scaled = load(name, dtype=np.float64, seed=3)
    scaler = StandardScaler().fit(raw.train.X)  # the reference; it also leaves constant features unscaled
    for split in ("train", "val", "test"):
        np.testing.assert_allclose(scaled.split(split).X, scaler.transform(raw.split(split).X), rtol=1e-12, atol=1e-12)
    if name == "diabetes":  # a regression target is standardised with the training statistics too
        mean, std = raw.train.y.mean(), raw.train.y.std()
        np.testing.assert_allclose(scaled.test.y, (raw.test.y - mean) / std, rtol=1e-12)
        assert scaled.task == "regression" and scaled.train.y.dtype == np.float64


def test_seeds_reproduce_and_differ() -> None:
    a, b, c = load("wine", seed=0), load("wine", seed=0), load("wine", seed=1)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.X, c.train.X)
    assert a.train.X.dtype == np.float32


def test_classes_keeps_and_renumbers_labels() -> None:
    later = load("digits", classes=(5, 6, 7, 8, 9), standardize=False, dtype=np.float64)
    X_all, y_all = datasets.load_digits(return_X_y=True)
    assert later.classes == (5, 6, 7, 8, 9) and later.n_classes == 5
    for new, old in enumerate(later.classes):
        rows = later.train.X[later.train.y == new]
        originals = {tuple(row) for row in X_all[y_all == old]}
        assert len(rows) > 0 and all(tuple(row) in originals for row in rows)
    assert sum(len(s.y) for s in (later.train, later.val, later.test)) == int(np.isin(y_all, later.classes).sum())
    swapped = load("wine", classes=(2, 0))  # the order given is the new numbering
    assert swapped.classes == (2, 0) and set(swapped.train.y.tolist()) == {0, 1}


def test_tensors_share_memory_on_the_cpu() -> None:
    data = load("wine")
    X, y = data.tensors("val", device="cpu")
    assert X.dtype == torch.float32 and y.dtype == torch.int64 and X.shape == (36, 13)
    assert np.shares_memory(X.numpy(), data.val.X)


def test_loader_covers_each_split_once_per_epoch_in_a_seeded_order() -> None:
    data = load("wine")
    loader = data.loader("train", batch_size=32, device="cpu")
    assert len(loader) == 4
    torch.manual_seed(0)
    first = torch.cat([x for x, _ in loader])
    second = torch.cat([x for x, _ in loader])
    torch.manual_seed(0)
    again = torch.cat([x for x, _ in loader])
    assert [len(y) for _, y in loader] == [32, 32, 32, 10]
    np.testing.assert_array_equal(sorted_rows(first.numpy()), sorted_rows(data.train.X))  # a permutation
    assert not torch.equal(first, second)  # reshuffled every epoch
    assert torch.equal(first, again)  # by torch's generator: seeded, it repeats
    # Validation is not shuffled by default.
    val = torch.cat([x for x, _ in data.loader("val", batch_size=10, device="cpu")])
    np.testing.assert_array_equal(val.numpy(), data.val.X)


def test_imbalanced_keeps_a_geometric_share_of_each_class() -> None:
    data = load("digits")
    skewed = imbalanced(data, ratio=20.0, seed=1)
    for split in ("train", "val"):
        full = data.class_counts(split)
        expected = [max(1, round(20.0 ** (-c / 9) * n)) for c, n in enumerate(full)]
        assert skewed.class_counts(split).tolist() == expected
    np.testing.assert_array_equal(skewed.test.X, data.test.X)  # the test split stays balanced
    # The kept examples are examples of the original split.
    originals = {tuple(row) for row in data.train.X}
    assert all(tuple(row) in originals for row in skewed.train.X)
    assert skewed.name == "digits (imbalanced 20:1)"
    binary = imbalanced(load("breast_cancer"), ratio=10.0)
    full = load("breast_cancer").class_counts()
    assert binary.class_counts().tolist() == [full[0], round(full[1] / 10)]


def test_adding_problem_targets_and_markers() -> None:
    X, y = adding_problem(5000, 40, np.random.default_rng(0), dtype=np.float64)
    assert X.shape == (5000, 40, 2) and y.shape == (5000,)
    markers = X[..., 1]
    assert np.all(markers[:, :20].sum(axis=1) == 1) and np.all(markers[:, 20:].sum(axis=1) == 1)
    np.testing.assert_allclose(y, (X[..., 0] * markers).sum(axis=1))
    assert np.all((X[..., 0] >= 0) & (X[..., 0] < 1))
    # Predicting the mean, 1, has error Var(u1 + u2) = 1/6 (standard error ~0.003 here).
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.012)


def test_adding_dataset_is_seeded() -> None:
    a, b, c = adding(length=10, n_train=16, seed=0), adding(length=10, n_train=16, seed=0), adding(length=10, seed=1)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    assert not np.array_equal(a.test.X, c.test.X[: len(a.test.X)])
    assert a.task == "regression" and a.n_classes == 0 and a.train.X.dtype == np.float32
    assert not np.array_equal(a.train.X[:4], a.val.X[:4])  # the splits are independent draws


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: load("mnist"), "name must be one of \\('digits', 'breast_cancer', 'wine', 'diabetes'\\)"),
        (lambda: load("wine", val_fraction=0.0), "val_fraction must be a finite number in \\(0, 1\\)"),
        (lambda: load("wine", test_fraction=1.0), "test_fraction must be a finite number in \\(0, 1\\)"),
        (lambda: load("wine", val_fraction=0.5, test_fraction=0.5), "val_fraction \\+ test_fraction must be < 1"),
        (lambda: load("wine", classes=(0, 7)), "classes must be at least two distinct labels of wine"),
        (lambda: load("wine", classes=(1,)), "classes must be at least two"),
        (lambda: load("diabetes", classes=(0, 1)), "classes applies to classification datasets only"),
        (lambda: load("wine").split("validation"), "split must be one of \\('train', 'val', 'test'\\)"),
        (lambda: load("wine").loader(batch_size=0), "batch_size must be an integer >= 1"),
        (lambda: load("diabetes").class_counts(), "class_counts needs a classification dataset"),
        (lambda: imbalanced(load("diabetes")), "imbalanced needs a classification dataset"),
        (lambda: imbalanced(load("wine"), ratio=0.5), "ratio must be a finite number in \\[1, inf\\)"),
        (lambda: adding_problem(0, 10, np.random.default_rng()), "n must be an integer >= 1"),
        (lambda: adding_problem(4, 1, np.random.default_rng()), "length must be an integer >= 2"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_numpy_integers_are_integers() -> None:
    """A seed, a size or a class label drawn from NumPy is accepted and gives what the int gives.

    ``adding_problem`` refused ``np.int64(4)`` sequences ("n must be an integer"), which a
    loop over ``np.arange`` produces.
    """
    X, y = adding_problem(np.int64(4), np.int64(6), np.random.default_rng(0))
    expected = adding_problem(4, 6, np.random.default_rng(0))
    np.testing.assert_array_equal(X, expected.X)
    np.testing.assert_array_equal(y, expected.y)
    a, b = adding(np.int64(6), n_train=np.int32(4), n_val=2, n_test=2, seed=np.int64(3)), adding(
        6, n_train=4, n_val=2, n_test=2, seed=3)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    mine = load("digits", classes=tuple(np.arange(5, 10)), seed=np.int64(1))
    theirs = load("digits", classes=(5, 6, 7, 8, 9), seed=1)
    assert mine.classes == theirs.classes == (5, 6, 7, 8, 9) and all(type(c) is int for c in mine.classes)
    np.testing.assert_array_equal(mine.train.X, theirs.train.X)
    np.testing.assert_array_equal(imbalanced(theirs, np.float32(4.0), seed=np.int64(2)).train.y,
                                  imbalanced(theirs, 4.0, seed=2).train.y)


@pytest.mark.parametrize("classes", [(True, False), (0.0, 1.0), ("0", "1"), 5])
def test_classes_must_be_integer_labels(classes) -> None:
    """``(True, False)`` was read as the labels 1 and 0; a float label is not a label."""
    with pytest.raises(TypeError, match="classes must be a sequence of integer labels"):
        load("wine", classes=classes)


def test_classes_may_be_any_iterable_of_labels() -> None:
    """A generator of labels is read once: the check does not use it up."""
    assert load("wine", classes=(c for c in (2, 0))).classes == (2, 0)
