r"""Gradient clipping in NumPy, and a tracker of gradient norms that helps choose the threshold.

A large learning rate and a steep cliff in the loss make a dangerous pair: one huge
gradient throws the parameters far away (Pascanu et al., 2013, on recurrent networks).
Clipping bounds the step without changing its direction:

- :func:`clip_by_global_norm`: rescale all gradients together when their joint norm
  exceeds a threshold (the direction is kept);
- :func:`clip_by_value`: clamp every entry to :math:`[-c, c]` (the direction changes);
- :class:`GradNormTracker`: record the norms seen in training and suggest a threshold
  from them.

The gradients are an array, or a dict, list or tuple of arrays, as for the
:mod:`lrcourse.numpy` optimizers. :mod:`lrcourse.torch.clipping` does the same on torch
parameters. A NaN or infinite norm is never applied: scaling by ``c / inf`` would zero
or NaN every gradient and hide the overflow, so the functions raise
``FloatingPointError`` (or, with ``error_if_nonfinite=False``, return the norm and leave
the gradients as they are, for the caller to skip the step).

References:
    Pascanu, R., Mikolov, T. and Bengio, Y. (2013). On the difficulty of training
    recurrent neural networks. ICML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.numpy.tree import Params, leaves, rebuild
from lrcourse.validation import check, flag, is_real, nonfinite_error, real

__all__ = ["global_norm", "clip_by_global_norm", "clip_by_value", "GradNormTracker"]


def global_norm(grads: Params) -> float:
    r"""Return the norm of all arrays of ``grads`` as one vector, :math:`\sqrt{\sum_i \lVert g_i \rVert^2}`.

    ``grads`` is an array, or a dict, list or tuple of arrays, of real numbers (integers
    or floats); anything else raises ``TypeError``.

    >>> global_norm({"w": np.array([3.0]), "b": np.array([4.0])})
    5.0
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is the answer (inf), not an error
        return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in _real_leaves(grads))))


def _real_leaves(grads: Params) -> list[Any]:
    """The arrays of ``grads``, each checked to hold real numbers (``TypeError`` naming ``grads`` if not)."""
    found = leaves(grads)
    for g in found:
        dtype = g.dtype if hasattr(g, "dtype") else np.asarray(g).dtype  # an array's own dtype: no host copy
        check(getattr(dtype, "kind", "O") in "iuf", "grads", "an array, or a dict, list or tuple of arrays, of "
              "real numbers (torch tensors: lrcourse.torch.clip_grad_norm)", g, TypeError)
    return found


def clip_by_global_norm(grads: Params, max_norm: float, *, eps: float = 1e-6,
                        error_if_nonfinite: bool = True) -> tuple[Params, float]:
    r"""Rescale the gradients together so that their global norm is at most ``max_norm``.

    .. math::

        \hat g = g \cdot \min\!\left(1,\ \frac{c}{\lVert g \rVert + \epsilon}\right)

    :math:`g` is ``grads`` (all arrays as one vector), :math:`\lVert g\rVert` its
    :func:`global_norm`, :math:`c` is ``max_norm``, :math:`\epsilon` is ``eps``.
    Pascanu et al.'s rule is :math:`\hat g = c\, g / \lVert g \rVert` when
    :math:`\lVert g\rVert \ge c`; the :math:`\epsilon` (torch's ``1e-6``, kept so that
    the two agree to the last bit) guards against a zero norm and leaves the clipped
    norm a hair under :math:`c`. Below the threshold the gradients are returned
    unchanged. The direction of the step never changes, only its length.

    Returns the clipped gradients (new arrays, in a container like ``grads``) and the
    norm *before* clipping. A NaN or infinite norm raises ``FloatingPointError``; with
    ``error_if_nonfinite=False`` it is returned with the gradients untouched.
    ``max_norm`` is a number > 0 (a NumPy scalar or 0-d array too); ``inf`` clips
    nothing, as in torch. ``eps`` is a finite number >= 0.

    >>> clipped, norm = clip_by_global_norm({"w": np.array([3.0]), "b": np.array([4.0])}, max_norm=1.0)
    >>> norm, round(global_norm(clipped), 6)
    (5.0, 1.0)
    """
    max_norm = real("max_norm", max_norm, low=0.0, low_open=True, finite=False)
    eps = real("eps", eps, low=0.0)
    error_if_nonfinite = flag("error_if_nonfinite", error_if_nonfinite)
    norm = global_norm(grads)
    if not math.isfinite(norm):
        if error_if_nonfinite:
            raise nonfinite_error(norm, "norm")
        return grads, norm
    # min(1, c / (||g|| + eps)), written so that a zero norm with eps = 0 divides nothing
    scale = max_norm / (norm + eps) if norm + eps > max_norm else 1.0
    return rebuild(grads, [np.asarray(g) * scale for g in leaves(grads)]), norm


def clip_by_value(grads: Params, clip_value: float, *, error_if_nonfinite: bool = True) -> Params:
    r"""Clamp every gradient entry to :math:`[-c, c]`: :math:`\hat g_j = \max(-c, \min(c, g_j))`.

    ``clip_value`` is :math:`c`. Cheaper than norm clipping but it bends the step: a
    gradient :math:`(10, 1)` clipped at 1 becomes :math:`(1, 1)`. Same values as
    ``torch.nn.utils.clip_grad_value_``, except that a NaN or infinite entry raises
    ``FloatingPointError`` (torch would clamp an inf to :math:`\pm c` and carry on, as
    if the overflow had not happened); with ``error_if_nonfinite=False`` the gradients
    are clamped as torch does (a NaN stays NaN). ``clip_value`` is a number > 0;
    ``inf`` clamps nothing.

    >>> clip_by_value(np.array([10.0, -0.5, -3.0]), 1.0)
    array([ 1. , -0.5, -1. ])
    """
    clip_value = real("clip_value", clip_value, low=0.0, low_open=True, finite=False)
    error_if_nonfinite = flag("error_if_nonfinite", error_if_nonfinite)
    arrays = [np.asarray(g) for g in _real_leaves(grads)]
    if error_if_nonfinite and not all(np.all(np.isfinite(g)) for g in arrays):
        raise nonfinite_error(global_norm(grads), "norm (some entries are NaN or inf)")
    return rebuild(grads, [np.clip(g, -clip_value, clip_value) for g in arrays])


@dataclass
class GradNormTracker:
    r"""Record the gradient norm at every step, and suggest a clipping threshold from them.

    Call :meth:`record` with each step's norm (the value :func:`clip_by_global_norm`
    or :func:`lrcourse.torch.clip_grad_norm` returns, measured before clipping).
    ``norms`` keeps them all, NaN and inf included: :attr:`nonfinite_steps` lists the
    steps where the norm was not finite, which is where the learning rate was too large
    for the landscape. The statistics use the finite norms only.

    Pascanu et al. (2013) set the threshold from "the average norm over a sufficiently
    large number of updates", and found training insensitive to it within a factor of
    about 0.5 to 10 of that average. :meth:`suggest` gives a high quantile of the
    norms seen (by default the 90th percentile): typical steps pass untouched and only
    the rare large ones, the spikes clipping is for, are cut. A threshold below the
    median would clip most steps, which amounts to a smaller learning rate with a
    normalised gradient (AutoClip, Seetharaman et al. 2020, clips at a low percentile
    on purpose).

    >>> tracker = GradNormTracker()
    >>> for norm in [1.0, 2.0, 3.0, 4.0, float("inf"), 100.0]:
    ...     tracker.record(norm)
    >>> tracker.mean(), tracker.nonfinite_steps, tracker.suggest(0.5)
    (22.0, [4], 3.0)

    References:
        Pascanu, R., Mikolov, T. and Bengio, Y. (2013). On the difficulty of training
        recurrent neural networks. ICML.
        Seetharaman, P., Wichern, G., Pardo, B. and Le Roux, J. (2020). AutoClip:
        adaptive gradient clipping for source separation networks. MLSP.
    """

    norms: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        check(isinstance(self.norms, (list, tuple, np.ndarray)), "norms", "a list of gradient norms", self.norms,
              TypeError)
        self.norms = [_norm_value(norm) for norm in self.norms]

    def record(self, norm: Any) -> None:
        """Append one step's norm: a number >= 0, NaN or inf (a NumPy scalar, a 0-d array or tensor too)."""
        self.norms.append(_norm_value(norm))

    @property
    def finite(self) -> NDArray[np.float64]:
        """The finite norms, in the order they were recorded."""
        values = np.asarray(self.norms, dtype=np.float64)
        return values[np.isfinite(values)]

    @property
    def nonfinite_steps(self) -> list[int]:
        """The steps (indices into ``norms``) whose norm was NaN or infinite."""
        return [i for i, norm in enumerate(self.norms) if not math.isfinite(norm)]

    def mean(self) -> float:
        """Return the mean of the finite norms (Pascanu et al.'s reference point)."""
        return float(np.mean(self._finite_or_raise()))

    def quantile(self, q: float) -> float:
        """Return the ``q``-quantile (``0 ≤ q ≤ 1``) of the finite norms."""
        return float(np.quantile(self._finite_or_raise(), real("q", q, low=0.0, high=1.0)))

    def suggest(self, q: float = 0.9) -> float:
        """Return a clipping threshold: the ``q``-quantile of the finite norms seen so far."""
        return self.quantile(q)

    def _finite_or_raise(self) -> NDArray[np.float64]:
        finite = self.finite
        if finite.size == 0:
            raise ValueError(f"no finite gradient norm recorded yet ({len(self.norms)} recorded): "
                             "record some steps before asking for statistics")
        return finite


def _norm_value(norm: Any) -> float:
    """A recorded norm as a float: a real number >= 0, NaN or inf; a 0-d array or tensor is read with ``.item()``."""
    if not is_real(norm) and getattr(norm, "ndim", None) == 0 and hasattr(norm, "item"):
        norm = norm.item()  # a 0-d NumPy array or torch tensor, e.g. what clip_grad_norm returns
    check(is_real(norm), "norm", "a real number (a gradient norm)", norm, TypeError)
    value = float(norm)
    check(not value < 0, "norm", "a number >= 0, NaN or inf (a gradient norm)", norm)
    return value
