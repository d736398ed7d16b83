"""The adding problem: a sequence task whose gradients explode without clipping."""

from __future__ import annotations

import numpy as np

from lrcourse.torch.data.tabular import Dataset, Split
from lrcourse.validation import check, integer

__all__ = ["adding_problem", "adding"]


def adding_problem(n: int, length: int, rng: np.random.Generator, dtype: type = np.float32) -> Split:
    r"""Draw ``n`` sequences of the adding problem, each ``length`` steps long.

    Step :math:`s` of a sequence carries two numbers: a value :math:`u_s \sim U(0, 1)`
    and a marker :math:`m_s \in \{0, 1\}`, equal to 1 at exactly two steps, one in
    each half of the sequence. The target is the sum of the two marked values,

    .. math::

        y = \sum_{s=1}^{T} m_s u_s \in [0, 2],

    so a model must carry the first marked value across some :math:`T/2` steps. The
    constant guess :math:`y = 1` has mean squared error :math:`\operatorname{Var}(u_1 +
    u_2) = 1/6`; a model does better only by remembering. ``X`` has shape
    ``(n, length, 2)`` (value, marker), ``y`` shape ``(n,)``.

    References:
        Hochreiter, S. and Schmidhuber, J. (1997). Long short-term memory. Neural
        Computation 9(8) (experiment 4).
        Le, Q. V., Jaitly, N. and Hinton, G. E. (2015). A simple way to initialize
        recurrent networks of rectified linear units. arXiv:1504.00941 (one marker in
        each half, as here).

    >>> X, y = adding_problem(2, 6, np.random.default_rng(0))
    >>> X.shape, X[..., 1].sum(axis=1).tolist()
    ((2, 6, 2), [2.0, 2.0])
    >>> bool(np.allclose(y, (X[..., 0] * X[..., 1]).sum(axis=1)))
    True
    """
    n, length = integer("n", n, low=1), integer("length", length, low=2)
    check(isinstance(rng, np.random.Generator), "rng", "a numpy.random.Generator (np.random.default_rng(seed))", rng,
          TypeError)
    half = length // 2
    values = rng.uniform(0.0, 1.0, size=(n, length))
    markers = np.zeros((n, length))
    rows = np.arange(n)
    markers[rows, rng.integers(0, half, size=n)] = 1.0
    markers[rows, rng.integers(half, length, size=n)] = 1.0
    X = np.stack([values, markers], axis=-1)
    y = (values * markers).sum(axis=1)
    return Split(X.astype(dtype), y.astype(dtype))


def adding(length: int = 50, *, n_train: int = 2000, n_val: int = 500, n_test: int = 500,
           seed: int = 0, dtype: type = np.float32) -> Dataset:
    """Return the adding problem as a :class:`Dataset` (a regression), drawn with ``seed``.

    The three splits are independent draws of :func:`adding_problem` from one
    generator seeded with ``seed``.

    >>> data = adding(length=20, n_train=8, n_val=4, n_test=4)
    >>> data.train.X.shape, data.task, data.n_features
    ((8, 20, 2), 'regression', 2)
    """
    length = integer("length", length, low=2)
    sizes = [integer(name, size, low=1) for name, size in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test))]
    rng = np.random.default_rng(integer("seed", seed, low=0))
    train, val, test = (adding_problem(n, length, rng, dtype) for n in sizes)
    return Dataset(f"adding (T={length})", "regression", train, val, test)
