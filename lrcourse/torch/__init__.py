"""PyTorch side of lrcourse: schedulers and optimizers that plug into ``torch.optim``."""

from lrcourse.torch.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from lrcourse.torch.schedulers import ScheduleLR, torch_scheduler_lrs

__all__ = ["ScheduleLR", "torch_scheduler_lrs", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]
