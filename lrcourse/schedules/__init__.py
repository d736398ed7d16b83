"""Learning-rate schedules: each a frozen dataclass whose call is the closed form.

``sched(step)`` takes the number of updates already applied (from 0) and returns the
learning rate of the next update: a ``float`` for a scalar step, an array of the same
shape for an array of steps, so ``sched(np.arange(T))`` is the whole curve.

>>> import numpy as np
>>> from lrcourse.schedules import TimeDecay
>>> sched = TimeDecay(lr=0.1, gamma=0.01, power=0.5)
>>> sched
TimeDecay(lr=0.1, gamma=0.01, power=0.5)
>>> sched(np.arange(3)).shape
(3,)
"""

from lrcourse.schedules._base import Schedule
from lrcourse.schedules.chebyshev import Chebyshev
from lrcourse.schedules.compose import Join, Warmup
from lrcourse.schedules.cyclic import Cyclic, OneCycle
from lrcourse.schedules.decay import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    MultiStepDecay,
    PolynomialDecay,
    StepDecay,
    TimeDecay,
)
from lrcourse.schedules.rectification import radam_rectification
from lrcourse.schedules.restarts import WarmRestarts
from lrcourse.schedules.wsd import WarmupStableDecay

__all__ = [
    "Schedule",
    "Constant",
    "TimeDecay",
    "StepDecay",
    "MultiStepDecay",
    "ExponentialDecay",
    "PolynomialDecay",
    "CosineDecay",
    "Cyclic",
    "WarmRestarts",
    "OneCycle",
    "Chebyshev",
    "WarmupStableDecay",
    "Warmup",
    "Join",
    "radam_rectification",
]
