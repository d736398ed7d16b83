"""lrcourse: the tested package behind the executable course on the learning rate.

Subpackages are imported explicitly, so that ``import lrcourse.schedules`` never pays
for torch:

- :mod:`lrcourse.schedules`: every learning-rate schedule of the course, as closed forms.
- :mod:`lrcourse.numpy`: SGD, Adagrad, RMSprop, Adam and AdamW from scratch, with explicit state.
- :mod:`lrcourse.torch`: the same schedules and optimizers in ``torch.optim``, the
  learning-rate range test, gradient clipping and layer-wise param groups.
- :mod:`lrcourse.problems`, :mod:`lrcourse.torch.data`, :mod:`lrcourse.torch.models`: test
  functions, bundled real data sets, and the models the chapters train.
- :mod:`lrcourse.torch.training` (``fit``) and :mod:`lrcourse.sweep` (many learning rates in
  one vectorised run).
- :mod:`lrcourse.range_test`, :mod:`lrcourse.clipping`: the torch-free halves of the
  range test and of clipping.
- :mod:`lrcourse.metrics`: per-class recall, the window of good learning rates of a
  sweep, and paired confidence intervals over seeds.
- :mod:`lrcourse.plots`, :mod:`lrcourse.widgets`, :mod:`lrcourse.display`: figures,
  explorers that work in static HTML, and the package's code shown in the book.
- :mod:`lrcourse.exercises`: the checkers of the chapters' code exercises.
- :mod:`lrcourse.torch.device`: the device every run uses (CUDA, then MPS, then the CPU).
"""

__version__ = "0.1.0"
