"""PyTorch side of lrcourse: schedulers and optimizers that plug into ``torch.optim``."""

from lrcourse.torch.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from lrcourse.torch.schedulers import ScheduleLR, torch_scheduler_lrs
from lrcourse.torch.range_test import RangeTestResult, lr_range_test, top_hessian_eigenvalue
from lrcourse.torch.clipping import clip_grad_norm, clip_grad_value, grad_norm
from lrcourse.torch.param_groups import layerwise_param_groups, param_groups_table

__all__ = ["ScheduleLR", "torch_scheduler_lrs", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]
__all__ += ["lr_range_test", "RangeTestResult", "top_hessian_eigenvalue"]
__all__ += ["clip_grad_norm", "clip_grad_value", "grad_norm"]
__all__ += ["layerwise_param_groups", "param_groups_table"]
