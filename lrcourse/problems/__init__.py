"""Test problems: functions whose gradient, minimum and curvature are known.

Each is a frozen dataclass with ``value(theta)`` and ``grad(theta)``, batched over the
leading axes of ``theta`` (shape ``(..., d)``), in NumPy or torch; ``x0`` is the usual
starting point, ``minimum`` a minimiser, ``f_min`` the value there, and 2-D problems
have ``bounds`` for a contour plot.

- :class:`Quadratic`: a bowl with condition number :math:`\\kappa` and curvatures
  :math:`L` and :math:`\\mu` (so the rates :math:`2/L` and :math:`2/(L+\\mu)` are
  known); :class:`NoisyQuadratic` adds gradient noise, a model of SGD.
- :class:`Rosenbrock`, :class:`Beale`: classic curved valleys and plateaus.
- :class:`Saddle`: a saddle point between two minima.
- :class:`SparseRegression`: least squares on a stream of sparse features whose
  frequencies follow a power law (rare features, as informative as the common ones).

>>> import numpy as np
>>> from lrcourse.problems import Rosenbrock
>>> Rosenbrock().value(np.array([[1.0, 1.0], [0.0, 0.0]]))  # two points at once
array([0., 1.])

From torch, pass a tensor: the same formulas run on it and autograd differentiates them.

>>> import torch
>>> theta = torch.tensor([0.0, 0.0], requires_grad=True)
>>> Rosenbrock().value(theta).backward()
>>> theta.grad.tolist()
[-2.0, 0.0]
"""

from lrcourse.problems._base import Problem
from lrcourse.problems.quadratic import NoisyQuadratic, Quadratic
from lrcourse.problems.sparse import SparseRegression
from lrcourse.problems.surfaces import Beale, Rosenbrock, Saddle

__all__ = ["Problem", "Quadratic", "NoisyQuadratic", "Rosenbrock", "Beale", "Saddle", "SparseRegression"]
