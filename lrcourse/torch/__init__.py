"""The torch layer of lrcourse: everything that trains a ``torch.nn.Module``.

It imports the NumPy core (:mod:`lrcourse.schedules`, :mod:`lrcourse.numpy`,
:mod:`lrcourse.sweep`, :mod:`lrcourse.range_test`, :mod:`lrcourse.clipping`,
:mod:`lrcourse.validation`) and the core never imports it:

- optimizers that plug into ``torch.optim`` (:mod:`lrcourse.torch.optim`) and
  :class:`ScheduleLR`, which drives any of them from a schedule;
- :func:`fit` and :func:`evaluate` (:mod:`lrcourse.torch.training`), the training loop;
- :func:`sweep_model` (:mod:`lrcourse.torch.sweep`): ``K`` copies of a model at once;
- :func:`lr_range_test`; the curvature (:mod:`lrcourse.torch.curvature`): :func:`sharpness`,
  with Adam's preconditioner from :func:`adam_preconditioner`, :class:`SharpnessTracker` (warm-started
  along a run), and :func:`top_hessian_eigenvalue`;
  :func:`gradient_noise_scale` (:mod:`lrcourse.torch.noise_scale`);
- gradient clipping and layer-wise param groups; the fine-tuning recipes
  :func:`fine_tune` (fastai's) and :func:`lp_ft` (:mod:`lrcourse.torch.transfer`);
- :mod:`lrcourse.torch.models` and :mod:`lrcourse.torch.data`, the chapters' models and
  bundled data sets; :func:`get_device` (:mod:`lrcourse.torch.device`);
- :mod:`lrcourse.torch.ddp`, data-parallel training under ``torchrun``, imported on its own
  (``python -m torch.distributed.run --nproc-per-node 2 -m lrcourse.torch.ddp``);
- :mod:`lrcourse.torch.runtime`, what the loops share: seeding, batches, the progress
  bar, setting a rate.
"""

from lrcourse.torch.clipping import clip_grad_norm, clip_grad_value, grad_norm
from lrcourse.torch.curvature import SharpnessTracker, adam_preconditioner, sharpness, top_hessian_eigenvalue
from lrcourse.torch.device import get_device
from lrcourse.torch.noise_scale import gradient_noise_scale
from lrcourse.torch.optim import SGD, Adagrad, Adam, AdamW, AdamWScheduleFree, Prodigy, RMSprop, SGDScheduleFree
from lrcourse.torch.param_groups import layerwise_param_groups, mup_param_groups, param_groups_table
from lrcourse.torch.range_test import RangeTestResult, lr_range_test
from lrcourse.torch.schedulers import ScheduleLR, torch_scheduler_lrs
from lrcourse.torch.sweep import run_outputs, run_scores, sweep_model, vmap_loss
from lrcourse.torch.training import History, evaluate, fit
from lrcourse.torch.transfer import fine_tune, lp_ft, spread_rates

__all__ = ["ScheduleLR", "torch_scheduler_lrs", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Prodigy"]
__all__ += ["SGDScheduleFree", "AdamWScheduleFree"]
__all__ += ["fit", "evaluate", "History", "sweep_model", "run_outputs", "run_scores", "vmap_loss"]
__all__ += ["lr_range_test", "RangeTestResult", "top_hessian_eigenvalue"]
__all__ += ["sharpness", "SharpnessTracker", "adam_preconditioner", "gradient_noise_scale"]
__all__ += ["clip_grad_norm", "clip_grad_value", "grad_norm"]
__all__ += ["layerwise_param_groups", "mup_param_groups", "param_groups_table", "get_device"]
__all__ += ["fine_tune", "lp_ft", "spread_rates"]
