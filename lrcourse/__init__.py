"""lrcourse: the tested package behind the executable course on the learning rate.

Subpackages are imported explicitly, so that ``import lrcourse.schedules`` never pays
for torch:

- :mod:`lrcourse.schedules`: every learning-rate schedule of the course, as closed forms.
- :mod:`lrcourse.torch`: the same schedules (and optimizers) plugged into ``torch.optim``.
- :mod:`lrcourse.display`: show the package's own code in the book.
"""

__version__ = "0.1.0"
