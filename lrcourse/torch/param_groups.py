r"""Per-layer learning rates: param groups with layer-wise decay, frozen lower layers, no decay on biases.

When fine-tuning, the lower layers hold general features that should move little, and
the top layers are specific to the task. ULMFiT's *discriminative fine-tuning* (Howard
& Ruder, 2018) gives each layer its own rate, dividing by 2.6 per layer going down.
:func:`~lrcourse.torch.layerwise_param_groups` builds those groups for any ``torch.optim`` optimizer,
from an explicit rule in the manner of nanoGPT's ``configure_optimizers``, and prints
what it built; :func:`~lrcourse.torch.param_groups_table` is that printout, for any list of groups.
:func:`mup_param_groups` gives the per-layer rates of μP (Yang et al., 2022) for a
:class:`~lrcourse.torch.models.WidthMLP`, with SGD or with Adam.

>>> from lrcourse.torch.models import MLP
>>> groups = layerwise_param_groups(MLP(64, 10, hidden=(32, 16)), lr=0.01, weight_decay=0.1)
group                       params        lr  lr_scale  weight_decay
layers.0                     2,048  0.001479    0.1479           0.1
layers.0 (no decay)             32  0.001479    0.1479             0
layers.2                       512  0.003846    0.3846           0.1
layers.2 (no decay)             16  0.003846    0.3846             0
layers.4                       160      0.01         1           0.1
layers.4 (no decay)             10      0.01         1             0
trainable                    2,778 of 2,778
>>> optimizer = torch.optim.AdamW(groups)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from lrcourse.validation import check, flag, integer, real

__all__ = ["layerwise_param_groups", "mup_param_groups", "default_layers", "param_groups_table"]


def default_layers(model: nn.Module) -> list[str]:
    """Return the names of the modules that own parameters directly, in the order they were registered.

    For an MLP or a CNN these are its linear and convolutional layers (activations and
    pooling own none); an RNN is one layer. Parameters set on ``model`` itself are one
    more layer, named ``""``, placed first.

    >>> from lrcourse.torch.models import BodyHead
    >>> default_layers(BodyHead(64, 5, hidden=(32, 32)))
    ['body.0', 'body.2', 'head']
    """
    return [name for name, module in model.named_modules() if any(True for _ in module.parameters(recurse=False))]


def layerwise_param_groups(model: nn.Module, lr: float, *, decay: float = 2.6,
                           layers: Sequence[str] | None = None, freeze: int = 0, weight_decay: float = 0.0,
                           verbose: bool = True) -> list[dict[str, Any]]:
    r"""Return param groups whose rates fall by ``decay`` per layer from the top, and print them.

    .. math:: \alpha_l = \alpha \cdot \texttt{decay}^{-(n - 1 - l)}, \qquad l = 0, \dots, n - 1

    ``layers`` are the :math:`n` layers from the input (:math:`l = 0`) to the output
    (:math:`l = n - 1`): names of submodules (each takes all parameters under it), by
    default :func:`~lrcourse.torch.param_groups.default_layers`. The top layer gets ``lr`` (:math:`\alpha`), the one
    below :math:`\alpha / 2.6`, and so on (ULMFiT's factor, ``decay``; 1 gives every
    layer the same rate). Each group carries its factor as ``"lr_scale"``, so
    :class:`lrcourse.torch.ScheduleLR` (which sets a group's rate to
    ``schedule(step) * lr_scale``) and :func:`lrcourse.torch.lr_range_test` keep the
    ratios between layers, and its layer's name as ``"name"``.

    ``freeze=k`` freezes the :math:`k` lowest layers: their parameters get
    ``requires_grad = False`` (autograd skips them and nothing updates them) and are
    in no group; every other layer's parameters get ``requires_grad = True``, so a
    second call with a smaller ``k`` unfreezes (ULMFiT's gradual unfreezing; give the
    optimizer the new groups).

    With ``weight_decay`` > 0 each layer is split in two groups by nanoGPT's rule:
    tensors of two or more dimensions (weight matrices, convolution kernels, embeddings)
    are decayed, tensors of one dimension (biases, the scales and shifts of batch and
    layer norms) are not (``weight_decay`` 0): shrinking a bias or a norm's scale
    towards zero is not a useful prior. ``verbose`` prints :func:`param_groups_table`.

    References:
        Howard, J. and Ruder, S. (2018). Universal language model fine-tuning for text
        classification. ACL.
        Karpathy, A. (2022). nanoGPT, ``model.py``, ``configure_optimizers``.
    """
    check(isinstance(model, nn.Module), "model", "a torch.nn.Module", model, TypeError)
    lr = real("lr", lr, low=0.0, low_open=True)
    decay = real("decay", decay, low=1.0)
    weight_decay = real("weight_decay", weight_decay, low=0.0)
    freeze = integer("freeze", freeze, low=0)
    verbose = flag("verbose", verbose)
    if layers is not None:
        names = "a sequence of submodule names (or None)"
        check(isinstance(layers, Iterable) and not isinstance(layers, str), "layers", names, layers, TypeError)
        layers = list(layers)
        check(all(isinstance(name, str) for name in layers), "layers", names, layers, TypeError)
    owned = _layer_params(model, default_layers(model) if layers is None else layers)
    n = len(owned)
    check(freeze < n, "freeze", f"an integer in [0, {n - 1}] ({n} layers)", freeze)
    groups = []
    for depth, (name, params) in enumerate(owned.items()):
        frozen = depth < freeze
        for p in params:
            p.requires_grad_(not frozen)
        if frozen:
            continue
        scale = decay ** -(n - 1 - depth)
        split = [("", params, weight_decay)] if weight_decay == 0 else [
            ("", [p for p in params if p.dim() >= 2], weight_decay),
            (" (no decay)", [p for p in params if p.dim() < 2], 0.0),
        ]
        groups += [{"name": name + suffix, "params": members, "lr": lr * scale, "lr_scale": scale,
                    "weight_decay": wd} for suffix, members, wd in split if members]
    if verbose:
        print(param_groups_table(groups, model))
    return groups


#: μP's rate factors relative to the base width, by optimizer, layer role and tensor
#: (``m`` = width / base width): the rules of the ``mup`` package's ``MuSGD`` and ``MuAdam``.
_MUP_SCALES = {
    "sgd": {("input", "weight"): 1, ("input", "bias"): 1, ("hidden", "weight"): 0, ("hidden", "bias"): 1,
            ("output", "weight"): 1, ("output", "bias"): 0},
    "adam": {("input", "weight"): 0, ("input", "bias"): 0, ("hidden", "weight"): -1, ("hidden", "bias"): 0,
             ("output", "weight"): 0, ("output", "bias"): 0},
}


def mup_param_groups(model: nn.Module, lr: float, optimizer: str = "adam", *, weight_decay: float = 0.0,
                     verbose: bool = True) -> list[dict[str, Any]]:
    r"""Return μP's param groups (Yang et al., 2022) for a :class:`~lrcourse.torch.models.WidthMLP`; print them.

    Each tensor's rate is ``lr`` (:math:`\alpha`, the rate tuned at the base width)
    times a power of the width multiplier :math:`m = n / n_0` (``model.width_mult``),
    by the rules of the ``mup`` package (its ``MuSGD`` and ``MuAdam``). With the model's
    output multiplier :math:`1/m` on the readout's input (``W (h/m) + b``, as the
    package's ``MuReadout``) they give every tensor, as the network sees it, the rate of
    Yang et al.'s Table 3, and they keep the typical coordinate size of every layer's
    output and of its change over the first steps roughly the same at every width (a
    ratio between 0.6 and 1.5 from width 32 to 1024 in ``tests/test_mup.py``'s coordinate
    check, not an exact invariance):

    ==============================  ======================  ========================
    tensor                          ``optimizer="sgd"``     ``optimizer="adam"``
    ==============================  ======================  ========================
    input weights and bias          :math:`m\,\alpha`       :math:`\alpha`
    hidden weights                  :math:`\alpha`          :math:`\alpha / m`
    hidden biases                   :math:`m\,\alpha`       :math:`\alpha`
    output weights                  :math:`m\,\alpha`       :math:`\alpha`
    output bias                     :math:`\alpha`          :math:`\alpha`
    ==============================  ======================  ========================

    ``"adam"`` serves every Adam-like optimizer whose step is invariant to the
    gradient's scale (Adam, AdamW, RMSprop); ``"sgd"`` plain or momentum SGD. A model
    in the standard parametrization (``parametrization="standard"``) gets the same
    groups with every factor 1: SP trains all widths at one rate, so the same code
    compares the two. Each group carries its factor as ``"lr_scale"`` (read by
    :class:`lrcourse.torch.ScheduleLR` and :func:`lrcourse.torch.lr_range_test`) and
    ``weight_decay``, the same for every group (the ``mup`` package scales it with the
    rate for SGD; we leave it unscaled: decoupled decay, as in AdamW, is what chapter 7
    uses). ``verbose`` prints :func:`param_groups_table`. The model must have the
    attributes ``parametrization``, ``width_mult`` and ``layer_roles`` (a dict
    from submodule name to ``"input"``, ``"hidden"`` or ``"output"``, each a module
    with a ``weight`` and a ``bias``), as :class:`~lrcourse.torch.models.WidthMLP` has.

    References:
        Yang, G. et al. (2022). Tensor Programs V: Tuning large neural networks via
        zero-shot hyperparameter transfer. arXiv:2203.03466.
        Microsoft, ``mup`` (2022), ``mup/optim.py`` (``MuSGD``, ``MuAdam``).

    >>> from lrcourse.torch.models import WidthMLP
    >>> groups = mup_param_groups(WidthMLP(8, 2, width=64, depth=2, parametrization="mup", base_width=32), lr=0.01)
    group                       params        lr  lr_scale  weight_decay
    layers.0.weight                512      0.01         1             0
    layers.0.bias                   64      0.01         1             0
    layers.1.weight              4,096     0.005       0.5             0
    layers.1.bias                   64      0.01         1             0
    layers.2.weight                128      0.01         1             0
    layers.2.bias                    2      0.01         1             0
    trainable                    4,866 of 4,866
    """
    check(isinstance(model, nn.Module) and all(hasattr(model, a) for a in ("parametrization", "width_mult",
                                                                            "layer_roles")),
          "model", "a WidthMLP (a module with parametrization, width_mult and layer_roles)", model, TypeError)
    lr = real("lr", lr, low=0.0, low_open=True)
    check(optimizer in _MUP_SCALES, "optimizer", "'sgd' or 'adam'", optimizer)
    weight_decay = real("weight_decay", weight_decay, low=0.0)
    verbose = flag("verbose", verbose)
    m = float(model.width_mult) if model.parametrization == "mup" else 1.0
    modules = dict(model.named_modules())
    groups = []
    for name, role in model.layer_roles.items():
        for kind in ("weight", "bias"):
            scale = m ** _MUP_SCALES[optimizer][role, kind]
            groups.append({"name": f"{name}.{kind}", "params": [getattr(modules[name], kind)], "lr": lr * scale,
                           "lr_scale": scale, "weight_decay": weight_decay})
    if verbose:
        print(param_groups_table(groups, model))
    return groups


def _layer_params(model: nn.Module, layers: list[str]) -> dict[str, list[nn.Parameter]]:
    """Map each layer name to its parameters; every parameter of the model must be in exactly one layer."""
    modules = dict(model.named_modules())
    if not layers:
        raise ValueError(f"model must have parameters, got a {type(model).__name__} with none")
    owned: dict[str, list[nn.Parameter]] = {}
    seen: dict[int, str] = {}
    for name in layers:
        if name not in modules:
            raise ValueError(f"layers must name submodules of the model, got {name!r}; "
                             f"its submodules with parameters are {default_layers(model)}")
        params = list(modules[name].parameters(recurse=name != ""))  # "": the model's own parameters only
        for p in params:
            if id(p) in seen:
                raise ValueError(f"layers must not overlap: a parameter of {name!r} is also in {seen[id(p)]!r}")
            seen[id(p)] = name
        owned[name] = params
    missing = [pname for pname, p in model.named_parameters() if id(p) not in seen]
    if missing:
        raise ValueError(f"layers must cover every parameter of the model; not covered: {missing}")
    return owned


def param_groups_table(groups: Sequence[dict[str, Any]], model: nn.Module | None = None) -> str:
    """Return a table of param groups: name, parameter count, lr, lr_scale, weight decay.

    Works with any list of groups (missing keys are shown as ``-``). With ``model``, a
    last line counts the trainable parameters (those in a group) against all of the
    model's, so frozen layers show up.

    >>> w, b = nn.Parameter(torch.zeros(3, 2)), nn.Parameter(torch.zeros(3))
    >>> print(param_groups_table([{"params": [w], "lr": 0.1}, {"name": "bias", "params": [b], "lr": 0.01}]))
    group                       params        lr  lr_scale  weight_decay
    0                                6       0.1         -             -
    bias                             3      0.01         -             -
    """
    allowed = "a list of param groups (dicts with 'params', as optimizer.param_groups)"
    check(isinstance(groups, Sequence) and not isinstance(groups, str)
          and all(isinstance(group, Mapping) and "params" in group for group in groups), "groups", allowed, groups,
          TypeError)
    check(model is None or isinstance(model, nn.Module), "model", "a torch.nn.Module or None", model, TypeError)

    def show(value: Any) -> str:
        return "-" if value is None else f"{float(value):.4g}"

    lines = [f"{'group':<24}{'params':>10}{'lr':>10}{'lr_scale':>10}{'weight_decay':>14}"]
    counted: set[int] = set()
    for i, group in enumerate(groups):
        # a group's params may be one tensor, as torch's add_param_group allows
        params = [group["params"]] if isinstance(group["params"], torch.Tensor) else list(group["params"])
        counted.update(id(p) for p in params)
        lines.append(f"{str(group.get('name', i)):<24}{sum(p.numel() for p in params):>10,}"
                     f"{show(group.get('lr')):>10}{show(group.get('lr_scale')):>10}"
                     f"{show(group.get('weight_decay')):>14}")
    if model is not None:
        total = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if id(p) in counted)
        lines.append(f"{'trainable':<24}{trainable:>10,} of {total:,}")
    return "\n".join(lines)
