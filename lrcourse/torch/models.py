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
- :class:`WidthMLP`: an MLP of any hidden width in the standard parametrization or in
  μP (Yang et al., 2022), whose rates carry over across widths
  (:func:`lrcourse.torch.param_groups.mup_param_groups`).
- :class:`TinyTransformer`: a two-layer decoder with causal self-attention, pre- or
  post-LN, for next-character prediction at every position
  (:func:`lrcourse.torch.data.char_sequences`).
- :class:`BodyHead` and :func:`pretrain_digits`: a network pretrained on some digit
  classes, whose head is replaced to fine-tune on the others, with per-layer rates.
"""

from __future__ import annotations

import math
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
    "WidthMLP",
    "TinyTransformer",
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


class WidthMLP(nn.Module):
    r"""An MLP of hidden width ``width``, in the standard parametrization or in μP (Yang et al., 2022).

    ``depth`` hidden layers of width :math:`n` = ``width`` with :math:`\phi` = ReLU, between an input
    layer from ``n_features`` and a readout to ``n_outputs``:

    .. math:: h_1 = \phi(W_1 x + b_1), \quad h_l = \phi(W_l h_{l-1} + b_l), \quad
              f(x) = W_{\text{out}} \frac{h_{L}}{m} + b_{\text{out}}, \qquad m = n / n_0,

    :math:`n_0` = ``base_width``. The multiplier :math:`1/m` scales the readout's input,
    not its bias (``MuReadout`` of the ``mup`` package computes the same): the output
    bias enters the network as itself, so its rate is the one Yang et al.'s Table 3 gives
    it, whatever the width. Every bias starts at 0 and every weight matrix at
    :math:`\mathcal N(0, 1/\text{fan\_in})`, except, in μP, the readout's,
    :math:`W_{\text{out}} \sim \mathcal N(0, 1/n_0)`: the same draws times
    :math:`\sqrt m`, so that with the multiplier :math:`1/m` the output's gradient
    with respect to :math:`h_L` is :math:`O(1/n)` per coordinate, as μP requires.
    ``parametrization="standard"`` (SP) has no output multiplier (:math:`1/m`
    replaced by 1) and the readout at :math:`\mathcal N(0, 1/n)`; ``"mup"`` has
    both changes. μP's other half is the rates:
    with SGD, the input layer, the hidden biases and the readout's weights train at
    :math:`m` times the base rate; with Adam, the hidden weight matrices at :math:`1/m`
    times it (:func:`~lrcourse.torch.param_groups.mup_param_groups`). At
    ``width == base_width`` (:math:`m = 1`) the two parametrizations are the same model
    with the same rates: μP is SP at the base width, and a rate tuned there carries
    over to every width (μTransfer), while SP's best rate shifts with the width.
    Chapter 7b (``book/07b_mup_and_a_transformer``) measures this on the digits with
    Adam, three seeds and widths 32 to 512, and ``benchmarks/mup_width.py`` up to width
    1024 with Adam and SGD.

    Which table we follow: Yang et al. give several equivalent forms of μP (they differ
    by moving a factor between the initialisation, a multiplier and the rate). We
    follow the one the authors' ``mup`` package implements (``MuReadout`` with the
    output multiplier :math:`1/m`, ``MuSGD``, ``MuAdam``), written relative to the base
    width as its ``set_base_shapes`` does: initialisation variance
    :math:`1/\text{fan\_in}` for the input and hidden weights, :math:`m/\text{fan\_in}
    = 1/n_0` for the output weights (``MuReadout`` rescaled by ``set_base_shapes``);
    multiplier :math:`1/m` on the readout's input, not on its bias;
    SGD rate :math:`\times m` for the input weights, all biases but the output's, and
    the output weights, :math:`\times 1` for the hidden weights; Adam rate
    :math:`\times 1/m` for the hidden weights, :math:`\times 1` for the rest. We do not
    zero the readout at initialisation (the package's option ``readout_zero_init``),
    so both parametrizations start from the same draws (the readout's scaled). The input and the output
    dimensions are fixed: only the hidden width grows.

    :meth:`activations` returns every layer's output, for a coordinate check: under μP
    their typical coordinate size, and that of their change after some steps, do not
    depend on :math:`n`; under SP with one rate for all widths the change grows with
    :math:`n` (``tests/test_mup.py`` measures both).

    References:
        Yang, G., Hu, E. J., Babuschkin, I., Sidor, S., Liu, X., Farhi, D., Ryder, N.,
        Pachocki, J., Chen, W. and Gao, J. (2022). Tensor Programs V: Tuning large
        neural networks via zero-shot hyperparameter transfer. arXiv:2203.03466.

    >>> model = WidthMLP(16, 4, width=256, parametrization="mup", base_width=32)
    >>> model(torch.zeros(5, 16)).shape, model.width_mult, model.output_multiplier
    (torch.Size([5, 4]), 8.0, 0.125)
    """

    def __init__(self, n_features: int, n_outputs: int, width: int = 128, depth: int = 2, *,
                 parametrization: Literal["standard", "mup"] = "standard", base_width: int = 32,
                 seed: int | None = 0) -> None:
        super().__init__()
        check(parametrization in ("standard", "mup"), "parametrization", "'standard' or 'mup'", parametrization)
        widths = [_count("n_features", n_features), *[_count("width", width)] * _count("depth", depth),
                  _count("n_outputs", n_outputs)]
        self.parametrization = parametrization
        self.base_width = _count("base_width", base_width)
        self.width_mult = widths[1] / self.base_width
        self.output_multiplier = 1.0 / self.width_mult if parametrization == "mup" else 1.0
        with seeded(seed):
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
            with torch.no_grad():
                for layer in self.layers:
                    layer.weight.normal_(0.0, layer.in_features ** -0.5)
                    layer.bias.zero_()
                if parametrization == "mup":  # the readout's variance 1/n_0, not 1/n: MuReadout's rescaling by sqrt(m)
                    self.layers[-1].weight.mul_(math.sqrt(self.width_mult))

    @property
    def layer_roles(self) -> dict[str, str]:
        """The role of each linear layer in μP: ``"input"``, ``"hidden"`` or ``"output"``, by module name."""
        n = len(self.layers)
        return {f"layers.{i}": "input" if i == 0 else "output" if i == n - 1 else "hidden" for i in range(n)}

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return every layer's output on ``x``: the ``depth`` hidden activations (after ReLU), then :math:`f(x)`."""
        outputs, h = [], x.flatten(1)
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))
            outputs.append(h)
        if self.output_multiplier != 1.0:  # W (h / m) + b, as MuReadout: the bias outside the multiplier
            h = self.output_multiplier * h
        outputs.append(self.layers[-1](h))
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activations(x)[-1]


class _Block(nn.Module):
    """One Transformer layer: causal multi-head self-attention and a 4×-wide GELU MLP, each with a residual."""

    def __init__(self, d_model: int, n_heads: int, norm: str) -> None:
        super().__init__()
        self.n_heads, self.norm = n_heads, norm
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv, self.proj = nn.Linear(d_model, 3 * d_model), nn.Linear(d_model, d_model)
        self.fc, self.out = nn.Linear(d_model, 4 * d_model), nn.Linear(4 * d_model, d_model)

    def attention(self, h: torch.Tensor) -> torch.Tensor:
        *lead, T, d = h.shape
        q, k, v = (part.reshape(*lead, T, self.n_heads, d // self.n_heads).transpose(-3, -2)
                   for part in self.qkv(h).split(d, dim=-1))  # each (N, heads, T, d / heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.n_heads)
        future = torch.ones(T, T, dtype=torch.bool, device=h.device).triu(1)  # made here: the model has no buffers
        weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        return self.proj((weights @ v).transpose(-3, -2).reshape(*lead, T, d))

    def mlp(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(F.gelu(self.fc(h)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm == "pre":
            x = x + self.attention(self.ln1(x))
            return x + self.mlp(self.ln2(x))
        x = self.ln1(x + self.attention(x))
        return self.ln2(x + self.mlp(x))


class TinyTransformer(nn.Module):
    r"""A small decoder-only Transformer for next-character prediction at every position.

    Input ``(N, T)`` character indices, :math:`1 \le T \le` ``context``; token and
    learned position embeddings of size :math:`d` = ``d_model`` are added, then
    ``n_layers`` blocks, each causal multi-head self-attention (``n_heads`` heads,
    scores :math:`q_i^\top k_j / \sqrt{d / \text{heads}}`, position :math:`i` sees
    only :math:`j \le i`) and an MLP :math:`W_2\,\mathrm{GELU}(W_1 h)` of width
    :math:`4d`, each with a residual connection, and a linear readout to ``n_chars``
    scores. ``norm`` places the layer norms (Xiong et al., 2020):

    - ``"post"`` (the original Transformer): :math:`x \leftarrow \mathrm{LN}(x +
      \mathrm{Attn}(x))`, :math:`x \leftarrow \mathrm{LN}(x + \mathrm{MLP}(x))`,
      the readout on the last :math:`x`;
    - ``"pre"``: :math:`x \leftarrow x + \mathrm{Attn}(\mathrm{LN}(x))`,
      :math:`x \leftarrow x + \mathrm{MLP}(\mathrm{LN}(x))`, and one more LN
      (``ln_f``) before the readout. The residual stream is never normalised, so
      the gradients at initialisation are well scaled in every layer, and Xiong et
      al. train it without warmup; post-LN needs warmup (chapter 7).

    The output has shape ``(N, n_chars, T)``: the scores at position :math:`t` are
    ``out[:, :, t]``, the layout in which ``F.cross_entropy`` takes a target at every
    position (``y`` of shape ``(N, T)``), so :func:`~lrcourse.torch.fit`,
    :func:`~lrcourse.torch.sweep_model` (``vmap`` over ``K`` copies, no buffers: the
    causal mask is made in the forward pass) and
    :func:`~lrcourse.torch.lr_range_test` train it on
    :func:`~lrcourse.torch.data.char_sequences` with their default loss (the range
    test with ``F.cross_entropy``), and :func:`~lrcourse.torch.evaluate` (so ``fit``'s
    ``val_data``) scores it, its accuracy over the ``N·T`` positions. No dropout. Initialisation as GPT-2's (nanoGPT): linear weights and embeddings
    :math:`\mathcal N(0, 0.02^2)`, the projections into the residual stream
    :math:`\mathcal N(0, (0.02/\sqrt{2 L})^2)` for :math:`L` layers, biases 0, layer
    norms at the identity, drawn with ``seed``.

    Cost: the defaults (2 layers, :math:`d = 64`, 4 heads, 38 characters, context 64)
    have 109,094 weights with pre-LN (108,966 with post-LN, which has no ``ln_f``). One
    step of Adam on a batch of 32 windows (forward, backward, update, through
    :func:`~lrcourse.torch.fit`), float32, on one CPU thread of the course's 2-core
    build machine, measured with ``torch.set_num_threads(1)`` as the best of three
    timings of 40 steps: about 30 ms at context 64 and 14–20 ms at context 32 with the
    machine lightly loaded (load average 1.6); 82–94 ms and 32–35 ms with it busy
    (load 4.7, five agents). :func:`~lrcourse.torch.sweep_model` over :math:`K` copies
    costs about :math:`K` single steps (context 64, :math:`K = 4`: 308 ms against
    84 ms for :math:`K = 1`, under the same load): the layers' inputs differ between
    runs, so ``wide_linear`` has nothing to merge. A budget of 1,000 steps at context
    64 is thus half a minute to a minute and a half per run on one thread. Pre- and
    post-LN cost the same.

    References:
        Vaswani, A. et al. (2017). Attention is all you need. NeurIPS.
        Xiong, R., Yang, Y., He, D., Zheng, K., Zheng, S., Xing, C., Zhang, H., Lan, Y.,
        Wang, L. and Liu, T.-Y. (2020). On layer normalization in the Transformer
        architecture. ICML.
        Karpathy, A. (2022). nanoGPT, ``model.py`` (the initialisation).

    >>> model = TinyTransformer(38, context=32)
    >>> model(torch.zeros(5, 32, dtype=torch.int64)).shape
    torch.Size([5, 38, 32])
    """

    def __init__(self, n_chars: int = 38, context: int = 64, d_model: int = 64, n_heads: int = 4,
                 n_layers: int = 2, *, norm: Literal["pre", "post"] = "pre", seed: int | None = 0) -> None:
        super().__init__()
        n_chars, self.context = _count("n_chars", n_chars, 2), _count("context", context)
        d_model, n_heads = _count("d_model", d_model), _count("n_heads", n_heads)
        n_layers = _count("n_layers", n_layers)
        check(d_model % n_heads == 0, "n_heads", f"a divisor of d_model = {d_model}", n_heads)
        check(norm in ("pre", "post"), "norm", "'pre' or 'post'", norm)
        self.norm = norm
        with seeded(seed):
            self.token = nn.Embedding(n_chars, d_model)
            self.position = nn.Embedding(self.context, d_model)
            self.blocks = nn.ModuleList(_Block(d_model, n_heads, norm) for _ in range(n_layers))
            self.ln_f = nn.LayerNorm(d_model) if norm == "pre" else None
            self.head = nn.Linear(d_model, n_chars)
            with torch.no_grad():
                for name, p in self.named_parameters():
                    if name.endswith("bias"):
                        p.zero_()
                    elif ".ln" not in name and not name.startswith("ln_f"):
                        residual = name.endswith(("proj.weight", "out.weight"))
                        p.normal_(0.0, 0.02 / math.sqrt(2 * n_layers) if residual else 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"x must hold integer character indices (int64), got {x.dtype}")
        if x.ndim != 2 or not 1 <= x.shape[-1] <= self.context:
            raise ValueError(f"x must have shape (N, T) with 1 <= T <= {self.context} (the context), "
                             f"got {tuple(x.shape)}")
        h = self.token(x) + self.position.weight[: x.shape[-1]]
        for block in self.blocks:
            h = block(h)
        if self.ln_f is not None:
            h = self.ln_f(h)
        return self.head(h).transpose(-2, -1)  # (N, n_chars, T): F.cross_entropy's layout for a target per position


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
