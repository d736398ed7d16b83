"""Explorers: a slider over a hyperparameter and the figure it selects, alive even in static HTML.

A book built with Jupyter Book usually loses its widgets: with no kernel behind the
page, a slider moves and nothing changes. An explorer avoids the kernel altogether.
Its figures, one per value of a grid, are drawn when the notebook runs (the data
behind them usually comes from one batched computation), kept as PNG images in an
ipywidgets ``Stack``, and the slider's position is linked to the ``Stack``'s visible
child in the browser with ``jslink``. The widget state, images included, is embedded
in the built page, so dragging the slider switches frames in Jupyter and in the
published book alike, instantly, and the notebook's execution never waits on it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["explorer", "render_png"]


def render_png(draw: Callable[[Figure], None], *, figsize: tuple[float, float] = (6.4, 3.6),
               dpi: int = 80) -> bytes:
    """Draw a figure with ``draw(fig)`` and return it as PNG bytes.

    The figure is a plain :class:`~matplotlib.figure.Figure` on an Agg canvas: no pyplot
    state, nothing displayed, nothing left open.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    draw(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def explorer(values: Sequence[Any] | np.ndarray, draw: Callable[[Figure, Any], None], *,
             label: str, fmt: str = "{:.3g}", initial: int | None = None,
             figsize: tuple[float, float] = (6.4, 3.6), dpi: int = 80) -> widgets.VBox:
    """Build a slider over ``values`` that shows the figure ``draw(fig, value)`` for each.

    ``values`` is the grid the reader can choose from, in slider order: for a learning
    rate, a geometric grid (``np.geomspace``) makes the slider logarithmic. ``label``
    names the parameter (``"α"``) and ``fmt`` formats each value for the readout.
    ``initial`` is the index shown first (default: the middle of the grid). Every frame
    is drawn now, so keep grids to a few dozen values and figures small; each frame is
    a PNG of ``figsize`` inches at ``dpi``.

    Returns the ``VBox`` of the slider and the frames: display it (the last expression
    of a cell). The slider's ``index`` is linked to the stack's ``selected_index`` in
    the browser, so no kernel is needed to switch frames.

    >>> import numpy as np
    >>> box = explorer(np.geomspace(0.01, 1.0, 3), lambda fig, a: fig.add_subplot().plot([0, a]), label="α")
    >>> slider, stack = box.children
    >>> slider.options, len(stack.children), stack.selected_index
    (('0.01', '0.1', '1'), 3, 1)
    """
    grid = list(values)
    if len(grid) == 0:
        raise ValueError("values must hold at least one value, got an empty sequence")
    if initial is None:
        initial = len(grid) // 2
    if not (isinstance(initial, (int, np.integer)) and 0 <= initial < len(grid)):
        raise ValueError(f"initial must be an index in [0, {len(grid) - 1}], got {initial!r}")
    labels = [fmt.format(value) for value in grid]
    if len(set(labels)) != len(labels):
        raise ValueError(f"fmt must tell the values apart; {fmt!r} gives repeated labels {labels}")

    frames = [
        widgets.Image(value=render_png(lambda fig, v=value: draw(fig, v), figsize=figsize, dpi=dpi),
                      format="png", layout=widgets.Layout(width="100%", max_width=f"{figsize[0] * dpi}px"))
        for value in grid
    ]
    stack = widgets.Stack(children=frames, selected_index=int(initial))
    slider = widgets.SelectionSlider(
        options=labels, index=int(initial), description=label,
        continuous_update=True, readout=True,
        layout=widgets.Layout(width="100%", max_width=f"{figsize[0] * dpi}px"),
        style={"description_width": "initial"},
    )
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    return widgets.VBox([slider, stack])
