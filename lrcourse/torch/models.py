"""The course's models: small enough to train in seconds on a CPU, built reproducibly.

Every constructor takes ``seed`` (default 0): the initial weights are drawn from
torch's CPU generator seeded with it (:func:`lrcourse.torch.runtime.seeded`, which
puts the generator back afterwards), so the same arguments give the same
model, and building a model does not move torch's global random stream (``seed=None``
draws from that stream instead, as torch modules normally do).

- :class:`SoftmaxRegression`, :class:`MLP`: for the tabular datasets and the digits.
- :class:`SmallCNN`: two convolutions for the 8×8 digits.
- :class:`SequenceRegressor`: an RNN, IRNN or LSTM for the adding problem.
- :class:`CharMLP`: Bengio et al.'s (2003) neural language model, for next-character
  prediction (:func:`lrcourse.torch.data.characters`).
- :class:`BodyHead` and :func:`pretrain_digits`: a network pretrained on some digit
  classes, whose head is replaced to fine-tune on the others, with per-layer rates.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from lrcourse.torch.data import load
from lrcourse.torch.runtime import seeded
from lrcourse.torch.training import fit
from lrcourse.validation import check, integer, is_real, real

__all__ = [
    "SoftmaxRegression",
    "MLP",
    "SmallCNN",
    "SequenceRegressor",
    "CharMLP",
    "BodyHead",
    "pretrain_digits",
]


def _count(name: str, value: Any, low: int = 1) -> int:
    return integer(name, value, low=low)


def _widths(hidden: Any) -> list[int]:
    """Check ``hidden``, the widths of the hidden layers: a sequence of integers >= 1."""
    check(isinstance(hidden, Sequence) and not isinstance(hidden, str), "hidden",
          "a sequence of layer widths (integers >= 1)", hidden, TypeError)
    return [_count(f"hidden[{i}]", h) for i, h in enumerate(hidden)]


class SoftmaxRegression(nn.Module):
    r"""Linear scores and a softmax: :math:`p(y = c \mid x) \propto \exp(w_c^\top x + b_c)`.

    ``forward`` returns the scores (logits) of shape ``(N, n_classes)``; the softmax
    is in the loss (``F.cross_entropy``). With the cross-entropy loss the problem is
    convex, so every difference between learning rates is the optimizer's doing.

    >>> SoftmaxRegression(64, 10)(torch.zeros(5, 64)).shape
    torch.Size([5, 10])
    """

    def __init__(self, n_features: int, n_classes: int, *, seed: int | None = 0) -> None:
        super().__init__()
        with seeded(seed):
            self.linear = nn.Linear(_count("n_features", n_features), _count("n_classes", n_classes, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


class MLP(nn.Module):
    """A multilayer perceptron: linear layers of widths ``hidden`` with ReLU between.

    ``forward`` returns shape ``(N, n_outputs)``.

    >>> mlp = MLP(64, 10, hidden=(32, 16))
    >>> mlp(torch.zeros(5, 64)).shape, sum(p.numel() for p in mlp.parameters())
    (torch.Size([5, 10]), 2778)
    """

    def __init__(self, n_features: int, n_outputs: int, hidden: Sequence[int] = (64,), *,
                 seed: int | None = 0) -> None:
        super().__init__()
        widths = [_count("n_features", n_features), *_widths(hidden), _count("n_outputs", n_outputs)]
        layers: list[nn.Module] = []
        with seeded(seed):
            for i, (width_in, width_out) in enumerate(zip(widths, widths[1:])):
                if i > 0:
                    layers.append(nn.ReLU())
                layers.append(nn.Linear(width_in, width_out))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.flatten(1))


class SmallCNN(nn.Module):
    """Two 3×3 convolutions with max-pooling, then a linear layer: 6,090 weights for 8×8 digits.

    Input: ``(N, 64)`` rows of the digits dataset, or ``(N, 1, 8, 8)`` images.
    Shapes: 1×8×8 → conv(16) → 16×8×8 → pool → 16×4×4 → conv(32) → 32×4×4 → pool
    → 32×2×2 = 128 → linear → ``n_classes``.

    >>> cnn = SmallCNN()
    >>> cnn(torch.zeros(5, 64)).shape, sum(p.numel() for p in cnn.parameters())
    (torch.Size([5, 10]), 6090)
    """

    def __init__(self, n_classes: int = 10, *, seed: int | None = 0) -> None:
        super().__init__()
        with seeded(seed):
            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
            self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
            self.linear = nn.Linear(32 * 2 * 2, _count("n_classes", n_classes, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, 1, 8, 8)
        # pool, then ReLU: max commutes with a non-decreasing map, so values and gradients are the
        # ones of ReLU-then-pool to the bit, with the ReLU on a quarter of the numbers
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        return self.linear(x.flatten(1))


class SequenceRegressor(nn.Module):
    r"""Read a sequence with a recurrent layer; predict one number from its last state.

    ``cell`` picks the recurrence, for ``x_s`` the input at step :math:`s`:

    - ``"rnn"``: :math:`h_s = \tanh(W x_s + U h_{s-1} + b)`, torch's default init.
    - ``"irnn"``: :math:`h_s = \operatorname{relu}(W x_s + U h_{s-1} + b)` started at
      :math:`U = I`, :math:`b = 0`, :math:`W \sim \mathcal N(0, 0.001^2)` (Le et al.,
      2015). Nothing bounds :math:`h_s`, and backpropagation multiplies the gradient by
      :math:`U^\top` once per step: as soon as training pushes an eigenvalue of
      :math:`U` above 1 on the active units, the gradient grows geometrically with the
      sequence length. This is the model on which gradients explode without clipping.
    - ``"lstm"``: a long short-term memory layer, whose additive cell state keeps
      gradients in range.

    Input ``(N, T, n_inputs)``, output ``(N,)``.

    References:
        Le, Q. V., Jaitly, N. and Hinton, G. E. (2015). A simple way to initialize
        recurrent networks of rectified linear units. arXiv:1504.00941.
        Pascanu, R., Mikolov, T. and Bengio, Y. (2013). On the difficulty of training
        recurrent neural networks. ICML.

    >>> model = SequenceRegressor("irnn", hidden_size=8)
    >>> model(torch.zeros(4, 50, 2)).shape, bool((model.rnn.weight_hh_l0 == torch.eye(8)).all())
    (torch.Size([4]), True)
    """

    def __init__(self, cell: Literal["rnn", "irnn", "lstm"] = "lstm", hidden_size: int = 32,
                 n_inputs: int = 2, *, seed: int | None = 0) -> None:
        super().__init__()
        if cell not in ("rnn", "irnn", "lstm"):
            raise ValueError(f"cell must be one of 'rnn', 'irnn', 'lstm', got {cell!r}")
        hidden_size, n_inputs = _count("hidden_size", hidden_size), _count("n_inputs", n_inputs)
        self.cell = cell
        with seeded(seed):
            if cell == "lstm":
                self.rnn: nn.Module = nn.LSTM(n_inputs, hidden_size, batch_first=True)
            else:
                self.rnn = nn.RNN(n_inputs, hidden_size, batch_first=True,
                                  nonlinearity="relu" if cell == "irnn" else "tanh")
            self.head = nn.Linear(hidden_size, 1)
            if cell == "irnn":
                with torch.no_grad():
                    self.rnn.weight_hh_l0.copy_(torch.eye(hidden_size))
                    self.rnn.weight_ih_l0.normal_(0.0, 0.001)
                    self.rnn.bias_hh_l0.zero_()
                    self.rnn.bias_ih_l0.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(x)
        return self.head(states[:, -1]).squeeze(-1)


class CharMLP(nn.Module):
    r"""A neural language model over characters (Bengio et al., 2003): embed, concatenate, MLP, scores.

    Each of the ``context`` characters of a window (int64 indices in ``[0,
    n_chars)``) is looked up in one table of ``embedding_dim``-dimensional vectors, the
    vectors are concatenated into :math:`x \in \mathbb R^{\text{context} \cdot d}`,
    and an MLP with :math:`\tanh` hidden layers of widths ``hidden`` maps them to
    ``n_chars`` scores, the logits of the next character (the softmax is in the loss,
    ``F.cross_entropy``). Bengio et al.'s optional direct connections from the
    embeddings to the output are left out. Input ``(N, context)``, output
    ``(N, n_chars)``. The embedding and the linear layers are ``torch.nn``'s and
    their default initialisation (embeddings :math:`\mathcal N(0, 1)`), drawn with
    ``seed``. Works under ``torch.func.vmap``, so :func:`lrcourse.torch.sweep_model`
    trains ``K`` copies at once.

    References:
        Bengio, Y., Ducharme, R., Vincent, P. and Jauvin, C. (2003). A neural
        probabilistic language model. Journal of Machine Learning Research 3.

    >>> model = CharMLP(38, context=8, embedding_dim=10, hidden=(64,))
    >>> model(torch.zeros(5, 8, dtype=torch.int64)).shape, sum(p.numel() for p in model.parameters())
    (torch.Size([5, 38]), 8034)
    """

    def __init__(self, n_chars: int, context: int = 8, embedding_dim: int = 10, hidden: Sequence[int] = (64,), *,
                 seed: int | None = 0) -> None:
        super().__init__()
        n_chars, self.context = _count("n_chars", n_chars, 2), _count("context", context)
        embedding_dim = _count("embedding_dim", embedding_dim)
        widths = [self.context * embedding_dim, *_widths(hidden), n_chars]
        layers: list[nn.Module] = []
        with seeded(seed):
            self.embedding = nn.Embedding(n_chars, embedding_dim)
            for i, (width_in, width_out) in enumerate(zip(widths, widths[1:])):
                if i > 0:
                    layers.append(nn.Tanh())
                layers.append(nn.Linear(width_in, width_out))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"x must hold integer character indices (int64), got {x.dtype}")
        if x.shape[-1] != self.context:
            raise ValueError(f"x must have shape (N, {self.context}) (windows of context characters), "
                             f"got {tuple(x.shape)}")
        return self.layers(self.embedding(x).flatten(-2))


class BodyHead(nn.Module):
    """A feature extractor (``body``) and a linear classifier on its features (``head``).

    The body is an MLP with ReLU after every layer (widths ``hidden``). For transfer
    learning, pretrain the whole network, :meth:`replace_head` for the new classes,
    and fine-tune with a smaller rate on the body than on the head
    (:meth:`param_groups`).

    >>> model = BodyHead(64, 5, hidden=(32, 32))
    >>> model(torch.zeros(3, 64)).shape
    torch.Size([3, 5])
    """

    def __init__(self, n_features: int = 64, n_classes: int = 5, hidden: Sequence[int] = (64, 64), *,
                 seed: int | None = 0) -> None:
        super().__init__()
        widths = [_count("n_features", n_features), *_widths(hidden)]
        if len(widths) < 2:
            raise ValueError(f"hidden must name at least one layer width, got {hidden!r}")
        layers: list[nn.Module] = []
        with seeded(seed):
            for width_in, width_out in zip(widths, widths[1:]):
                layers += [nn.Linear(width_in, width_out), nn.ReLU()]
            self.body = nn.Sequential(*layers)
            self.head = nn.Linear(widths[-1], _count("n_classes", n_classes, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x.flatten(1)))

    def replace_head(self, n_classes: int, *, seed: int | None = 0) -> None:
        """Put a freshly initialised linear head for ``n_classes`` classes on the body."""
        with seeded(seed):
            self.head = nn.Linear(self.head.in_features, _count("n_classes", n_classes, 2)).to(
                self.head.weight.device, self.head.weight.dtype)

    def param_groups(self, lr: float, body_scale: float, head_scale: float = 1.0) -> list[dict[str, Any]]:
        """Return two param groups, body and head, each at its own learning rate.

        Each group has ``"lr"`` = ``lr`` times its scale and ``"lr_scale"`` = the scale,
        so a fixed-rate optimizer and :class:`lrcourse.torch.ScheduleLR` (which reads
        ``lr_scale``) both give the body ``body_scale`` times the head's rate.
        ``body_scale=0`` freezes the body.

        >>> groups = BodyHead(64, 5).param_groups(lr=0.01, body_scale=0.1)
        >>> [(g["name"], g["lr"], g["lr_scale"], sum(p.numel() for p in g["params"])) for g in groups]
        [('body', 0.001, 0.1, 8320), ('head', 0.01, 1.0, 325)]
        """
        lr, body_scale, head_scale = (real(name, value, low=0.0) for name, value in
                                      (("lr", lr), ("body_scale", body_scale), ("head_scale", head_scale)))
        return [
            {"name": "body", "params": list(self.body.parameters()), "lr": lr * body_scale, "lr_scale": body_scale},
            {"name": "head", "params": list(self.head.parameters()), "lr": lr * head_scale, "lr_scale": head_scale},
        ]


def pretrain_digits(classes: Sequence[int] = (0, 1, 2, 3, 4), *, steps: int = 300, lr: float = 1e-2,
                    hidden: Sequence[int] = (64, 64), seed: int = 0) -> BodyHead:
    """Return a :class:`BodyHead` trained on the digits of ``classes``, in well under a second.

    Full-batch Adam at rate ``lr`` for ``steps`` steps on the training split of
    ``lrcourse.torch.data.load("digits", classes=classes, seed=seed)``, on the CPU, from a
    network built with ``seed``: the same arguments give the same weights, bit for
    bit, on a given machine, so nothing needs to be shipped. It reaches about 99% validation
    accuracy on digits 0–4. Then ``model.replace_head(5)`` and fine-tune on
    ``load("digits", classes=(5, 6, 7, 8, 9))``.
    """
    allowed = "at least two digit classes (distinct integers in [0, 9])"
    check(isinstance(classes, Sequence) and not isinstance(classes, str) and all(is_real(c) for c in classes),
          "classes", allowed, classes, TypeError)
    check(all(isinstance(c, numbers.Integral) for c in classes), "classes", allowed, classes, TypeError)
    check(len(set(classes)) >= 2 and all(0 <= c <= 9 for c in classes), "classes", allowed, classes)
    steps, lr, seed = _count("steps", steps), real("lr", lr, low=0.0), integer("seed", seed, low=0)
    _widths(hidden)
    data = load("digits", classes=tuple(int(c) for c in classes), seed=seed)
    model = BodyHead(data.n_features, data.n_classes, hidden, seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    fit(model, optimizer, data.tensors("train", "cpu"), steps=steps, seed=seed, progress=False, device="cpu")
    return model
