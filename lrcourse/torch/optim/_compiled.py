r"""Run an optimizer's readable update function through ``torch.compile``.

The update functions loop over the tensors of a param group with a few in-place ops
each. Eagerly every op is a pass over memory; compiled, TorchDynamo unrolls the loop
and Inductor fuses each tensor's ops into one kernel that reads and writes every
element once, which is what a hand-written fused optimizer does.

Scalars (``lr``, each tensor's update number ``t`` or Adam's bias corrections)
enter as Python numbers: the first call compiles for their values, the second (with
a new ``t``) recompiles them as symbolic inputs, and from then on nothing recompiles
as ``t`` or a scheduled ``lr`` changes. What depends on ``t`` through a power, Adam's
:math:`1 - \beta^t`, the optimizer computes once per tensor before the call: inside
the compiled loop over elements it would be recomputed for every vector of 16
floats, which made the compiled Adam step about three times slower than torch's
fused one on a CPU (Inductor keeps libm's ``errno`` semantics, so the C++ compiler
may not hoist ``pow`` out of the loop).

The compiled code is cached per update function, shared by every optimizer that uses
it; a new number or shape of tensors, dtype or device, or a switched option
(``amsgrad``, weight decay on or off) compiles a new version, up to
``torch._dynamo.config.recompile_limit`` (8) versions per function, after which
``fullgraph=True`` makes it an error rather than a silent return to eager code.

The compiled code rounds as Inductor's does. On a CPU it computes ``addcmul`` as a
multiply and then an add, where torch's eager kernel does one fused multiply-add: the
last bit may differ from the loop, and where a product overflows the compiled step can
give NaN where the loop keeps inf (centered RMSprop's :math:`v - \bar g^2`).
Sparse gradients never reach it: they do not compile, and run eagerly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["compiled"]


@functools.cache
def compiled(update: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``update`` compiled as one graph (an error, not a silent fallback, if it cannot be)."""
    return torch.compile(update, fullgraph=True)
