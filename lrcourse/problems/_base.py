"""What every test problem shares: a value and a gradient, batched, in NumPy or torch.

A problem is a function :math:`f : \\mathbb{R}^d \\to \\mathbb{R}` with a known
gradient. ``value`` and ``grad`` take ``theta`` of shape ``(..., d)``: one point of
shape ``(d,)``, or ``K`` points of shape ``(K, d)`` (``K`` runs at once, one per
learning rate), or a grid of shape ``(H, W, d)`` for a contour plot. The formulas
are written with arithmetic only (``+``, ``*``, ``**``, ``.sum(-1)``), so the same
code runs on NumPy arrays, on torch tensors (where autograd differentiates it) and on
CuPy arrays.
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

import numpy as np

__all__ = ["Problem", "namespace", "constant_like", "stack_last"]


def namespace(theta: Any) -> Any:
    """Return the array library of ``theta``: the module ``numpy``, ``torch`` or ``cupy``.

    >>> namespace(np.zeros(2)).__name__
    'numpy'
    """
    return sys.modules[type(theta).__module__.partition(".")[0]]


def constant_like(value: Any, theta: Any) -> Any:
    """Return the NumPy constant ``value`` in the array library, dtype and device of ``theta``."""
    if isinstance(theta, np.ndarray):
        return np.asarray(value, dtype=theta.dtype)
    xp = namespace(theta)
    if xp.__name__ == "torch":
        return xp.as_tensor(value, dtype=theta.dtype, device=theta.device)
    return xp.asarray(value, dtype=theta.dtype)


def stack_last(parts: list[Any], theta: Any) -> Any:
    """Stack the coordinates of a gradient along a new last axis, in ``theta``'s library."""
    return namespace(theta).stack(parts, -1)


class Problem:
    """A test function with its gradient, batched over the leading axes of ``theta``.

    Subclasses set ``dim`` (:math:`d`), ``x0`` (the usual starting point),
    ``minimum`` (a minimiser), ``f_min`` (the value there) and, for 2-D problems,
    ``bounds`` (a plot window ``((x_lo, x_hi), (y_lo, y_hi))``), and implement
    :meth:`_value` and :meth:`_grad` on an array whose last axis has length ``dim``.
    """

    dim: int
    x0: tuple[float, ...]
    minimum: tuple[float, ...]
    f_min: float
    bounds: ClassVar[tuple[tuple[float, float], tuple[float, float]] | None] = None
    stochastic: ClassVar[bool] = False

    def value(self, theta: Any) -> Any:
        """Return :math:`f(\\theta)`, of shape ``theta.shape[:-1]``."""
        return self._value(self._check(theta))

    def grad(self, theta: Any) -> Any:
        """Return :math:`\\nabla f(\\theta)`, of the shape of ``theta``."""
        return self._grad(self._check(theta))

    def sample_grad(self, theta: Any, rng: np.random.Generator) -> Any:
        """Return a gradient as an optimizer sees it: :meth:`grad` for a deterministic problem.

        A stochastic problem adds noise drawn from ``rng``; see :class:`NoisyQuadratic`.
        """
        return self.grad(theta)

    def __call__(self, theta: Any) -> Any:
        return self.value(theta)

    def _value(self, theta: Any) -> Any:
        """Return the value at ``theta`` (checked, last axis ``dim``); each subclass implements it."""
        raise NotImplementedError

    def _grad(self, theta: Any) -> Any:
        """Return the gradient at ``theta``, shaped like it; each subclass implements it."""
        raise NotImplementedError

    def _check(self, theta: Any) -> Any:
        # A torch tensor or a CuPy array passes as it is; anything else becomes a NumPy float array.
        if namespace(theta).__name__ in ("torch", "cupy"):
            array = theta
        else:
            array = np.asarray(theta)
            if not np.issubdtype(array.dtype, np.floating):
                array = array.astype(np.float64)
        shape = tuple(array.shape)
        if len(shape) == 0 or shape[-1] != self.dim:
            raise ValueError(f"theta must have shape (..., {self.dim}) for {type(self).__name__}, got shape {shape}")
        return array
