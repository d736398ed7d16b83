r"""Checkers for chapter 4, part II, *Clipping the gradient, and a rate for each layer*.

Each ``check_…`` runs the reader's function and the package's own implementation on the
same random inputs (drawn from a seeded generator, so a report can be reproduced; see
:func:`lrcourse.exercises.check`) and returns a :class:`~lrcourse.exercises.CheckResult`
whose message says in plain words what is wrong on the first case that fails.

- :func:`check_clip_global_norm`: clip a list of arrays by their global norm, against
  :func:`lrcourse.clipping.clip_by_global_norm`.
- :func:`check_layer_rates`: the learning rate of every layer under layer-wise decay
  with the lowest layers frozen, against the groups that
  :func:`lrcourse.torch.param_groups.layerwise_param_groups` builds.

>>> import numpy as np
>>> def clip(grads, max_norm):
...     norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
...     return [g * min(1.0, max_norm / (norm + 1e-6)) for g in grads], norm
>>> check_clip_global_norm(clip).passed
True
>>> def no_eps(grads, max_norm):  # Pascanu et al.'s c / ||g||, without torch's 1e-6
...     norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
...     return [g * min(1.0, max_norm / norm) for g in grads], norm
>>> print(check_clip_global_norm(no_eps).message.splitlines()[0])
✗ clip_global_norm disagrees with the reference on case 1 of 20.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrcourse.clipping import clip_by_global_norm
from lrcourse.exercises import CheckResult, check, random_cases
from lrcourse.torch.models import MLP
from lrcourse.torch.param_groups import layerwise_param_groups

__all__ = [
    "clip_global_norm_reference",
    "layer_rates_reference",
    "check_clip_global_norm",
    "check_layer_rates",
]


def _flat(arrays: Any) -> NDArray[np.float64]:
    """All arrays of a list, one after the other, as one float64 vector."""
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(f"the clipped gradients must be a list of arrays, got a {type(arrays).__name__}")
    if not arrays:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays])


def clip_global_norm_reference(grads: list[NDArray[Any]], max_norm: float) -> tuple[NDArray[np.float64], float]:
    """The clipped gradients (flattened into one vector) and the norm before clipping.

    From :func:`lrcourse.clipping.clip_by_global_norm`:
    :math:`\\hat g = g \\min(1, c / (\\lVert g \\rVert + 10^{-6}))`.
    """
    clipped, norm = clip_by_global_norm(list(grads), max_norm)
    return _flat(clipped), float(norm)


def _shapes_kept(candidate: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap the reader's clip so that its answer is compared flattened, its shapes and inputs checked."""
    def wrapped(grads: list[NDArray[Any]], max_norm: float) -> tuple[NDArray[np.float64], float]:
        before = [np.array(g, copy=True) for g in grads]
        answer = candidate(grads, max_norm)
        if not (isinstance(answer, tuple) and len(answer) == 2):
            raise TypeError(f"return a pair (clipped, norm), got {type(answer).__name__}"
                            + (f" of length {len(answer)}" if isinstance(answer, (tuple, list)) else ""))
        clipped, norm = answer
        if not all(np.array_equal(a, b) for a, b in zip(before, grads)):
            raise ValueError("the input arrays were changed in place; return new arrays instead")
        if not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads):
            raise TypeError(f"the clipped gradients must be a list of {len(grads)} arrays, one per input array")
        for i, (c, g) in enumerate(zip(clipped, grads)):
            if np.shape(c) != np.shape(g):
                raise ValueError(f"clipped array {i} has shape {np.shape(c)}, its gradient has shape {np.shape(g)}")
        return _flat(clipped), float(np.asarray(norm))
    return wrapped


def check_clip_global_norm(candidate: Callable[..., Any], n: int = 20, seed: int = 41) -> CheckResult:
    """Check ``candidate(grads, max_norm)`` against :func:`lrcourse.clipping.clip_by_global_norm`.

    ``grads`` is a list of arrays of different shapes; the answer must be the pair
    ``(clipped, norm)``: a list of new arrays of the same shapes, scaled together by
    :math:`\\min(1, c / (\\lVert g \\rVert + 10^{-6}))`, and the global norm before
    clipping. The cases mix gradients far above the threshold, below it, and all zero.
    """
    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        shapes = [tuple(int(k) for k in rng.integers(1, 6, size=int(rng.integers(1, 3))))
                  for _ in range(int(rng.integers(1, 5)))]
        scale = float(10 ** rng.uniform(-3, 4))
        return [rng.normal(size=s) * scale for s in shapes], float(10 ** rng.uniform(-2, 2))

    first = ([np.array([[3.0, 0.0], [0.0, 0.0]]), np.array([4.0])], 1.0)  # norm 5, clipped to 1
    below = ([np.array([0.3, -0.4]), np.array([[0.1]])], 10.0)            # untouched
    zero = ([np.zeros((2, 3)), np.zeros(4)], 0.5)                         # norm 0: no division by zero
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    cases = [first, below, zero] + (random_cases(make, n=n - 3, seed=seed) if n > 3 else [])
    return check(_shapes_kept(candidate), clip_global_norm_reference, cases[:n], name="clip_global_norm",
                 hint="compute one norm over all arrays together, sqrt(sum of every squared entry), then "
                      "multiply every array by min(1, max_norm / (norm + 1e-6)); return the new list and "
                      "the norm measured before clipping.")


def layer_rates_reference(lr: float, decay: float, n_layers: int, freeze: int) -> NDArray[np.float64]:
    """The rate of each of ``n_layers`` layers, input first: ``lr * decay ** -(n - 1 - l)``, 0 if frozen.

    Read from the groups of :func:`lrcourse.torch.param_groups.layerwise_param_groups`
    on an :class:`lrcourse.torch.models.MLP` with ``n_layers`` linear layers: a frozen layer
    has no group, and its rate is 0.
    """
    model = MLP(3, 2, hidden=(3,) * (n_layers - 1))
    groups = layerwise_param_groups(model, lr, decay=decay, freeze=freeze, verbose=False)
    rates = dict.fromkeys((name for name, module in model.named_modules()
                           if any(True for _ in module.parameters(recurse=False))), 0.0)
    for group in groups:
        rates[group["name"]] = group["lr"]
    return np.array(list(rates.values()), dtype=np.float64)


def check_layer_rates(candidate: Callable[..., Any], n: int = 20, seed: int = 42) -> CheckResult:
    """Check ``candidate(lr, decay, n_layers, freeze)``: one rate per layer, from the input to the output.

    The top layer (the last) gets ``lr``, each layer below it ``decay`` times less, and
    the ``freeze`` lowest layers get 0. The reference is the rates of the groups that
    :func:`lrcourse.torch.param_groups.layerwise_param_groups` builds.
    """
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")

    def make(rng: np.random.Generator) -> tuple[Any, ...]:
        layers = int(rng.integers(1, 9))
        return (float(10 ** rng.uniform(-5, -1)), float(rng.choice([1.0, 2.0, 2.6, float(rng.uniform(1, 5))])),
                layers, int(rng.integers(0, layers)))

    cases = [(0.01, 2.6, 3, 0), (1e-3, 10.0, 4, 2), (0.1, 2.6, 1, 0)]
    cases += random_cases(make, n=n - 3, seed=seed) if n > 3 else []
    return check(candidate, layer_rates_reference, cases[:n], name="layer_rates", rtol=1e-12,
                 hint="layer l (0 = next to the input, n_layers - 1 = the output) gets "
                      "lr * decay ** -(n_layers - 1 - l); the first `freeze` layers get 0. "
                      "Return a NumPy array of n_layers rates.")
