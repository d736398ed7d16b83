"""A character-level corpus read from the Python standard library, and next-character windows of it.

Nothing is downloaded: :func:`stdlib_text` reads the docstrings of a fixed list of
standard-library modules (``MODULES``) from their source files, with
``ast.get_docstring``, and normalises them to a small alphabet
(``ALPHABET``). :func:`characters` cuts the text into windows of ``context``
characters, each labelled with the character that follows it: a classification
over the alphabet on which rates, schedules and optimizers make differences far
larger than the spread over seeds (``benchmarks/testbed_headroom.py``).

The text depends on the Python version (docstrings change between releases), so
its exact characters, and every number measured on it, are not fixed across
machines; only their kind is (English prose about programming, some 300,000
characters). :func:`char_sequences` gives the same windows with a target at
every position (the window shifted by one character), for a causal Transformer.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from lrcourse.torch.data.tabular import Dataset, Split
from lrcourse.validation import check, integer

__all__ = ["ALPHABET", "MODULES", "OTHER", "TextDataset", "normalise", "stdlib_text", "characters", "char_sequences"]

#: The modules whose docstrings make the corpus, in this order: pure-Python modules
#: (with a source file, not frozen or built in) present in every Python from 3.9 on.
MODULES = ("argparse", "calendar", "collections", "configparser", "csv", "difflib", "fractions", "functools",
           "heapq", "inspect", "logging", "pickle", "random", "shutil", "statistics", "string", "subprocess",
           "tarfile", "textwrap", "threading", "tokenize", "typing", "zipfile", "email.message", "unittest.case",
           "ast", "enum", "pprint", "smtplib", "http.client", "urllib.parse", "json.decoder")

#: The symbol that stands for every character outside the alphabet's others (digits, ``#``, ``>``, ...).
OTHER = "~"

#: Index ``i`` is character ``ALPHABET[i]``: the space, the 26 lower-case letters, ten
#: punctuation marks, and ``OTHER`` (38 symbols).
ALPHABET = " abcdefghijklmnopqrstuvwxyz.,:'\"()-_=" + OTHER

_INDEX = np.full(128, len(ALPHABET) - 1, dtype=np.int64)  # ASCII code -> index (the text is ASCII)
for _i, _c in enumerate(ALPHABET):
    _INDEX[ord(_c)] = _i


def _docstrings(module: str) -> list[str]:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise RuntimeError(f"the standard library module {module!r} has no Python source file here")
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return [doc for node in ast.walk(tree) if isinstance(node, kinds) and (doc := ast.get_docstring(node))]


def normalise(text: str) -> str:
    """Lower ``text``, turn every run of whitespace into one space, and every character outside ``ALPHABET`` into ``OTHER``.

    >>> normalise("Return  the\\n  SUM of 2 numbers >= 0.")
    'return the sum of ~ numbers ~= ~.'
    """
    check(isinstance(text, str), "text", "a str", text, TypeError)
    text = re.sub(r"\s+", " ", text.lower())
    allowed = set(ALPHABET)
    return "".join(c if c in allowed else OTHER for c in text)


def stdlib_text(length: int = 300_000) -> str:
    """Return the first ``length`` characters of the normalised docstrings of ``MODULES``.

    Each module's docstrings (the module's, then every class's and function's, in the
    order ``ast.walk`` visits them) are read from its source file, joined by
    spaces, and the modules joined in the order of ``MODULES``; then
    :func:`normalise` maps the text to ``ALPHABET``. The same Python gives the
    same text; another Python version gives a different one (its docstrings differ),
    about 330,000 characters long before the cut with Python 3.11. A text shorter than
    ``length`` is returned whole.

    >>> text = stdlib_text()
    >>> len(text) <= 300_000, set(text) <= set(ALPHABET)
    (True, True)
    """
    return _corpus()[:integer("length", length, low=1)]


@lru_cache(maxsize=1)
def _corpus() -> str:  # read once per process (parsing the modules takes most of a second)
    return normalise(" ".join(" ".join(_docstrings(module)) for module in MODULES))


@dataclass(frozen=True, eq=False)
class TextDataset(Dataset):
    """A :class:`Dataset` of windows of character indices, with the alphabet that decodes them.

    ``X`` holds int64 windows of shape ``(N, context)``, ``y`` the int64 index of the
    character after each window (:func:`characters`), or, from :func:`char_sequences`,
    the window shifted by one, shape ``(N, context)``, a target at every position; ``classes`` are ``0 … len(alphabet) - 1`` and
    ``n_features`` is the context length. ``starts`` holds, for ``"train"``,
    ``"val"`` and ``"test"``, the position in the text of each example's first
    character: example ``i`` of a split is ``text[s : s + context]`` and its target
    ``text[s + context]``, ``s = starts[split][i]``.
    """

    alphabet: str = ALPHABET
    starts: dict[str, NDArray[np.int64]] = field(default_factory=dict)

    @property
    def context(self) -> int:
        """The number of characters in one window."""
        return self.n_features

    def encode(self, text: str) -> NDArray[np.int64]:
        """Return the indices of the characters of ``text`` after :func:`normalise`.

        >>> characters(4, n_train=8, n_val=4, n_test=4).encode("Hi 2")
        array([ 8,  9,  0, 37])
        """
        text = normalise(text)
        return np.array([self.alphabet.index(c) for c in text], dtype=np.int64)

    def decode(self, indices: object) -> str:
        """Return the characters with ``indices`` (a sequence or array of integers in ``[0, len(alphabet))``).

        >>> data = characters(4, n_train=8, n_val=4, n_test=4)
        >>> data.decode(data.encode("the cat."))
        'the cat.'
        """
        array = np.asarray(indices)
        check(array.ndim <= 1 and (array.size == 0 or np.issubdtype(array.dtype, np.integer)), "indices",
              "a sequence of integer character indices", indices, TypeError)
        check(array.size == 0 or (array.min() >= 0 and array.max() < len(self.alphabet)), "indices",
              f"integers in [0, {len(self.alphabet)})", indices)
        return "".join(self.alphabet[i] for i in array.reshape(-1).tolist())


#: The text is cut into blocks of this many characters; out of every ten consecutive
#: blocks, eight go to the training split, one to validation and one to test.
BLOCK = 5_000
_PATTERN = ("train",) * 8 + ("val", "test")


def characters(context: int = 8, *, n_train: int = 20_000, n_val: int = 4_000, n_test: int = 4_000,
               seed: int = 0, length: int = 300_000) -> TextDataset:
    """Return next-character prediction on :func:`stdlib_text` as a :class:`TextDataset`.

    An example is a window of ``context`` consecutive characters (their indices in
    ``ALPHABET``) and its target the index of the next character. The text
    (``stdlib_text(length)``) is cut into blocks of ``BLOCK`` characters; of every
    ten consecutive blocks, eight are training text, the ninth validation text and the
    tenth test text, so the three splits come from disjoint stretches spread over all
    modules, and no window (nor its target) crosses a block's end: nothing of the
    validation or test text is ever seen in training. From each split's windows,
    ``n_train``, ``n_val`` and ``n_test`` are drawn without replacement with ``seed``
    (a ``ValueError`` says how many there are if one asks for more).

    >>> data = characters(8, n_train=1000, n_val=200, n_test=200)
    >>> data.train.X.shape, data.train.X.dtype, data.n_classes, data.n_features
    ((1000, 8), dtype('int64'), 38, 8)
    >>> data.decode(data.train.X[0]) + "|" + data.decode([data.train.y[0]])  # doctest: +SKIP
    'e of the|s'
    """
    codes, chosen_starts = _split_starts(context, n_train, n_val, n_test, seed, length)
    splits = [Split(np.ascontiguousarray(codes[chosen[:, None] + np.arange(context)]), codes[chosen + context])
              for chosen in chosen_starts.values()]
    return TextDataset(f"stdlib characters (context {context})", "classification", *splits,
                       classes=tuple(range(len(ALPHABET))), alphabet=ALPHABET, starts=chosen_starts)


def _split_starts(context: int, n_train: int, n_val: int, n_test: int, seed: int,
                  length: int) -> tuple[NDArray[np.int64], dict[str, NDArray[np.int64]]]:
    """Check the arguments; return the text's codes and, per split, the drawn starts of windows of ``context + 1``."""
    context = integer("context", context, low=1, high=BLOCK - 1)
    sizes = {name: integer(name, value, low=1) for name, value in (("n_train", n_train), ("n_val", n_val),
                                                                    ("n_test", n_test))}
    rng = np.random.default_rng(integer("seed", seed, low=0))
    length = integer("length", length, low=1)
    codes = _INDEX[np.frombuffer(stdlib_text(length).encode("ascii"), dtype=np.uint8)]
    starts: dict[str, list[NDArray[np.int64]]] = {"train": [], "val": [], "test": []}
    for b, begin in enumerate(range(0, len(codes), BLOCK)):
        end = min(begin + BLOCK, len(codes))  # a window starts at s, its (last) target sits at s + context < end
        starts[_PATTERN[b % len(_PATTERN)]].append(np.arange(begin, end - context, dtype=np.int64))
    chosen_starts = {}
    for name, key in (("train", "n_train"), ("val", "n_val"), ("test", "n_test")):
        pool = np.concatenate(starts[name]) if starts[name] else np.zeros(0, np.int64)
        if sizes[key] > len(pool):
            raise ValueError(f"{key} must be at most {len(pool)} (the {name} windows of {context} characters "
                             f"in a text of {len(codes)}), got {sizes[key]}")
        chosen_starts[name] = rng.choice(pool, size=sizes[key], replace=False)
    return codes, chosen_starts


def char_sequences(context: int = 64, *, n_train: int = 4_000, n_val: int = 500, n_test: int = 500,
                   seed: int = 0, length: int = 300_000) -> TextDataset:
    """Return next-character prediction at every position of a window, for a causal model (a Transformer).

    The windows are drawn exactly as by :func:`characters` (the same blocks, the same
    splits, the same starts for the same arguments), but the target is the window
    shifted by one character: example ``i`` of a split is ``X[i] = text[s : s +
    context]`` and ``y[i] = text[s + 1 : s + context + 1]``, ``s = starts[split][i]``,
    both int64 of shape ``(N, context)``. Position ``j`` of ``y`` is the character that
    follows ``X[i, : j + 1]``, so a model that sees only the past (causal attention) is
    trained on ``context`` predictions per window, with contexts of 1 to ``context``
    characters. Every target lies in the window's own block, as with
    :func:`characters`: no validation or test character is ever an input or a target in
    training. ``n_classes`` is the alphabet's size and ``n_features`` the context.

    >>> data = char_sequences(32, n_train=100, n_val=20, n_test=20)
    >>> data.train.X.shape, data.train.y.shape, bool((data.train.X[:, 1:] == data.train.y[:, :-1]).all())
    ((100, 32), (100, 32), True)
    """
    codes, chosen_starts = _split_starts(context, n_train, n_val, n_test, seed, length)
    splits = [Split(np.ascontiguousarray(codes[chosen[:, None] + np.arange(context)]),
                    np.ascontiguousarray(codes[chosen[:, None] + 1 + np.arange(context)]))
              for chosen in chosen_starts.values()]
    return TextDataset(f"stdlib character sequences (context {context})", "classification", *splits,
                       classes=tuple(range(len(ALPHABET))), alphabet=ALPHABET, starts=chosen_starts)
