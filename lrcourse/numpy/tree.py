"""Walk the containers that hold parameters: one array, or dicts, lists and tuples of arrays.

The optimizers update every array ("leaf") of a container the same way. These helpers
list the leaves in a fixed order, check that a second container (the gradients, a
state buffer) has the same structure and shapes, and rebuild a container from a list.
Dicts are walked in the order of the params' keys, so ``grads`` may list its keys in
any order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np

__all__ = ["Params", "leaves", "leaves_like", "rebuild"]

Params: TypeAlias = Any
"""An array, or a dict, list or tuple (nested as deep as you like) of arrays."""


def _is_container(node: object) -> bool:
    return isinstance(node, (Mapping, list, tuple))


def _shape(leaf: object) -> tuple[int, ...]:
    shape = getattr(leaf, "shape", None)  # NumPy, CuPy and friends, without a host copy
    return tuple(shape) if shape is not None else np.shape(leaf)


def leaves(params: Params) -> list[Any]:
    """List the arrays of ``params`` in a fixed order (dicts in their key order).

    >>> leaves({"w": 1.0, "layers": [2.0, (3.0, 4.0)]})
    [1.0, 2.0, 3.0, 4.0]
    """
    if isinstance(params, Mapping):
        return [leaf for key in params for leaf in leaves(params[key])]
    if isinstance(params, (list, tuple)):
        return [leaf for child in params for leaf in leaves(child)]
    return [params]


def leaves_like(tree: Params, params: Params, name: str) -> list[Any]:
    """List the arrays of ``tree`` in the order of ``params``, checking they match.

    ``name`` is what the error calls ``tree`` (``"grads"``, ``"state.mu"``): a
    ``ValueError`` names the first place where the structure or a shape differs.

    >>> leaves_like({"b": 2.0, "a": 1.0}, {"a": 0.0, "b": 0.0}, "grads")
    [1.0, 2.0]
    >>> leaves_like([np.zeros(3)], [np.zeros(2)], "grads")
    Traceback (most recent call last):
    ...
    ValueError: grads[0] has shape (3,) but params[0] has shape (2,)
    """
    found: list[Any] = []
    _collect_like(tree, params, name, "", found)
    return found


def _collect_like(node: Any, ref: Any, name: str, path: str, found: list[Any]) -> None:
    # Append the arrays of node (at params{path}) to found, checking them against ref.
    # A module-level function, not a closure: a recursive closure refers to itself,
    # and that cycle would keep found (every array of a step) alive until gc runs.
    where = f"{name}{path}"
    if isinstance(ref, Mapping):
        if not isinstance(node, Mapping):
            raise ValueError(f"{where} is a {type(node).__name__} but params{path} is a dict")
        if set(node) != set(ref):
            raise ValueError(f"{where} has keys {sorted(map(str, node))} but params{path} has keys {sorted(map(str, ref))}")
        for key in ref:
            _collect_like(node[key], ref[key], name, f"{path}[{key!r}]", found)
    elif isinstance(ref, (list, tuple)):
        if not isinstance(node, (list, tuple)):
            raise ValueError(f"{where} is a {type(node).__name__} but params{path} is a {type(ref).__name__}")
        if len(node) != len(ref):
            raise ValueError(f"{where} has length {len(node)} but params{path} has length {len(ref)}")
        for i, (child, ref_child) in enumerate(zip(node, ref)):
            _collect_like(child, ref_child, name, f"{path}[{i}]", found)
    elif _is_container(node):
        raise ValueError(f"{where} is a {type(node).__name__} but params{path} is an array")
    elif _shape(node) != _shape(ref):
        raise ValueError(f"{where} has shape {_shape(node)} but params{path} has shape {_shape(ref)}")
    else:
        found.append(node)


def rebuild(params: Params, new_leaves: Sequence[Any]) -> Params:
    """Put ``new_leaves`` (in the order of :func:`leaves`) into a container like ``params``.

    >>> rebuild({"w": 0, "b": [0, 0]}, [1, 2, 3])
    {'w': 1, 'b': [2, 3]}
    """
    return _build(params, iter(new_leaves))


def _build(ref: Any, remaining: Iterator[Any]) -> Any:
    # A container like ref, its arrays taken in turn from remaining (no closure: see _collect_like).
    if isinstance(ref, Mapping):
        return {key: _build(ref[key], remaining) for key in ref}
    if isinstance(ref, (list, tuple)):
        children = [_build(child, remaining) for child in ref]
        if hasattr(ref, "_fields"):  # a NamedTuple
            return type(ref)(*children)
        return type(ref)(children)
    return next(remaining)
