"""The course's optimizers as ``torch.optim.Optimizer`` subclasses.

Same names, arguments, defaults and state as ``torch.optim`` (``state_dict`` loads in
either direction), with each update written as one readable function over a param
group's tensors (:func:`sgd`, :func:`adagrad`, :func:`rmsprop`, :func:`adam`).
``impl="loop"`` (the default) runs that function eagerly, the version the book shows;
``impl="compiled"`` runs the same function through ``torch.compile``, which fuses each
tensor's update into one pass over memory.

:class:`Prodigy` (learning-rate-free: it estimates its own step size) has no
``torch.optim`` counterpart: its names, defaults and state are ``prodigyopt``'s.

NaN and inf gradients are not checked: they propagate into the parameters and the
state elementwise, as in ``torch.optim``.
"""

from lrcourse.torch.optim._base import Optimizer
from lrcourse.torch.optim.adagrad import Adagrad, adagrad
from lrcourse.torch.optim.adam import Adam, AdamW, adam
from lrcourse.torch.optim.prodigy import Prodigy, prodigy
from lrcourse.torch.optim.rmsprop import RMSprop, rmsprop
from lrcourse.torch.optim.schedulefree import AdamWScheduleFree, SGDScheduleFree, adamw_schedule_free, sgd_schedule_free
from lrcourse.torch.optim.sgd import SGD, sgd

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "sgd", "adagrad", "rmsprop", "adam"]
__all__ += ["Prodigy", "prodigy"]
__all__ += ["SGDScheduleFree", "AdamWScheduleFree", "sgd_schedule_free", "adamw_schedule_free"]
