"""Optimizers in NumPy: pure ``init`` and ``step`` with the state in plain sight.

The same five as ``torch.optim`` (names, hyperparameters, defaults and arithmetic),
written so that each update reads like its formula::

    opt = Adam(lr=1e-3)
    state = opt.init(params)                       # AdamState(count=0, mu=..., nu=..., nu_max=None)
    params, state = opt.step(params, grads, state)  # update t = count + 1

``params`` and ``grads`` are an array, or a dict, list or tuple of arrays (CuPy arrays
run on the GPU through the same code). ``lr`` is a number, a schedule (any callable of
the step count, such as those of :mod:`lrcourse.schedules`), or an array of shape
``(K,)`` against params with a leading axis of ``K`` runs: ``K`` learning rates in one
go. The other numeric hyperparameters may be such arrays too.

>>> import numpy as np
>>> from lrcourse.schedules import ExponentialDecay
>>> opt = SGD(lr=ExponentialDecay(0.1, 0.5))
>>> params = {"w": np.ones(2), "b": np.zeros(1)}
>>> state = opt.init(params)
>>> for _ in range(2):  # lr 0.1 then 0.05
...     params, state = opt.step(params, {"w": np.ones(2), "b": np.ones(1)}, state)
>>> params["w"], state.count
(array([0.85, 0.85]), 2)
"""

from lrcourse.numpy._base import Optimizer
from lrcourse.numpy.adagrad import Adagrad, AdagradState
from lrcourse.numpy.adam import Adam, AdamState, AdamW
from lrcourse.numpy.effective import effective_lr
from lrcourse.numpy.prodigy import Prodigy, ProdigyState
from lrcourse.numpy.rmsprop import RMSprop, RMSpropState
from lrcourse.numpy.schedulefree import AdamWScheduleFree, ScheduleFreeState, SGDScheduleFree
from lrcourse.numpy.sgd import SGD, SGDState

__all__ = [
    "Optimizer",
    "SGD",
    "SGDState",
    "Adagrad",
    "AdagradState",
    "RMSprop",
    "RMSpropState",
    "Adam",
    "AdamW",
    "AdamState",
    "SGDScheduleFree",
    "AdamWScheduleFree",
    "ScheduleFreeState",
    "Prodigy",
    "ProdigyState",
    "effective_lr",
]
