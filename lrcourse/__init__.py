"""lrcourse: the tested package behind the executable course on the learning rate.

The package is two layers, and its imports go one way: the torch layer imports the
core, the core never imports the torch layer.

**The core**, NumPy only, imports no torch (``import lrcourse.schedules`` never pays for it):

- :mod:`lrcourse.schedules`: every learning-rate schedule of the course, as closed forms.
- :mod:`lrcourse.numpy`: SGD, Adagrad, RMSprop, Adam and AdamW from scratch, with explicit
  state; :mod:`lrcourse.numpy.tree` walks the containers that hold the params.
- :mod:`lrcourse.problems`: test functions whose gradient, minimum and curvature are known.
- :mod:`lrcourse.sweep`: many learning rates on a test problem as one vectorised run.
- :mod:`lrcourse.range_test`, :mod:`lrcourse.clipping`: the range test's formulas (and the
  test on a problem) and gradient clipping, on arrays.
- :mod:`lrcourse.scaling`: the linear and square-root rules that move a rate to another
  batch size.
- :mod:`lrcourse.metrics`: per-class recall, the window of good learning rates of a
  sweep, and paired confidence intervals over seeds.
- :mod:`lrcourse.validation`: the argument checks of every public function, in both
  layers (a ``TypeError`` or ``ValueError`` that names the parameter and its range).
- :mod:`lrcourse.plots`, :mod:`lrcourse.widgets`, :mod:`lrcourse.display`: figures,
  explorers that work in static HTML, and the package's code shown in the book.
- :mod:`lrcourse.exercises`: the checkers of the chapters' code exercises (those of
  chapter 4b, :mod:`lrcourse.exercises.ch4b`, check torch code and use the torch layer).

**The torch layer**, :mod:`lrcourse.torch`, trains ``torch.nn`` models with the core's
formulas: the optimizers as ``torch.optim`` subclasses and
:class:`~lrcourse.torch.ScheduleLR`, :func:`~lrcourse.torch.fit`,
:func:`~lrcourse.torch.sweep_model` (``K`` copies of a model at once),
:func:`~lrcourse.torch.lr_range_test`, the sharpness and the gradient noise scale
(:func:`~lrcourse.torch.sharpness`, :func:`~lrcourse.torch.gradient_noise_scale`),
clipping and per-layer param groups, the
chapters' models and data sets, and the device. Its loops share one runtime module,
:mod:`lrcourse.torch.runtime`: seeding, batches, the progress bar, setting a rate.
"""

__version__ = "0.1.0"
