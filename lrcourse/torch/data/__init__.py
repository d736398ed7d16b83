"""Real data, offline: scikit-learn's bundled datasets and a synthetic sequence task.

Nothing is downloaded: the tabular datasets are the files that ship inside
scikit-learn (``sklearn.datasets.load_*``), and the adding problem is drawn from a
seeded generator. Every dataset is a :class:`Dataset` of three :class:`Split` s,
``train``, ``val`` and ``test``, each a pair ``(X, y)`` of NumPy arrays, with
``tensors(split)`` and ``loader(split, batch_size)`` for torch.

- :func:`load`: ``"digits"``, ``"breast_cancer"``, ``"wine"``, ``"diabetes"``, split
  and standardised; ``classes=`` keeps some labels (pretrain on digits 0–4,
  fine-tune on 5–9).
- :func:`imbalanced`: the same with geometrically fewer examples per class.
- :func:`adding`: the adding problem, on which a plain RNN's gradients explode.
- :func:`characters`: next-character prediction on the standard library's docstrings
  (:func:`stdlib_text`), a :class:`TextDataset` of integer windows;
  :func:`char_sequences`: the same windows with a target at every position.
- :func:`image_pixels`: a photograph bundled with scikit-learn as a pixel regression,
  random Fourier features of the coordinates in, RGB out (an :class:`ImageDataset`);
  :func:`psnr` scores a fitted image.

>>> from lrcourse.torch.data import load
>>> wine = load("wine", seed=1)
>>> X, y = wine.train
>>> X.shape, y[:5].tolist(), wine.n_classes
((106, 13), [1, 1, 2, 1, 1], 3)
"""

from lrcourse.torch.data.image import IMAGES, ImageDataset, fourier_features, image_pixels, psnr
from lrcourse.torch.data.sequences import adding, adding_problem
from lrcourse.torch.data.tabular import NAMES, Dataset, Split, imbalanced, load
from lrcourse.torch.data.text import ALPHABET, TextDataset, char_sequences, characters, normalise, stdlib_text

__all__ = ["NAMES", "Dataset", "Split", "load", "imbalanced", "adding", "adding_problem"]
__all__ += ["characters", "char_sequences", "stdlib_text", "normalise", "TextDataset", "ALPHABET"]
__all__ += ["image_pixels", "fourier_features", "psnr", "ImageDataset", "IMAGES"]
