"""lrcourse.widgets: explorers whose frames are drawn up front and switched in the browser."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from ipywidgets.embed import embed_data
from matplotlib.figure import Figure

from lrcourse.widgets import explorer, render_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _line(fig: Figure, value: float) -> None:
    fig.add_subplot().plot([0.0, 1.0], [0.0, value])


def _embedded_links(box: widgets.Widget, source: widgets.Widget, target: widgets.Widget) -> list[dict]:
    """The browser-side links from source.index to target.selected_index in the embeddable state."""
    state = embed_data(views=[box])["manager_state"]["state"]
    wanted = (["IPY_MODEL_" + source.model_id, "index"], ["IPY_MODEL_" + target.model_id, "selected_index"])
    return [m for m in state.values()
            if m["model_name"] == "LinkModel" and (m["state"]["source"], m["state"]["target"]) == wanted]


def test_render_png_gives_a_png_and_leaves_no_pyplot_figure_open():
    open_before = plt.get_fignums()
    png = render_png(lambda fig: fig.add_subplot().plot([1, 2, 3]), figsize=(2, 1), dpi=50)
    assert png.startswith(PNG_SIGNATURE)
    assert plt.get_fignums() == open_before


def test_one_frame_per_value_each_drawn_for_its_value():
    values = np.geomspace(0.01, 1.0, 4)
    box = explorer(values, _line, label="α")
    slider, stack = box.children
    assert isinstance(slider, widgets.SelectionSlider) and isinstance(stack, widgets.Stack)
    frames = [bytes(frame.value) for frame in stack.children]
    assert len(frames) == 4 and all(f.startswith(PNG_SIGNATURE) for f in frames)
    assert len(set(frames)) == 4, "different values must give different frames"
    expected = [render_png(lambda fig, v=v: _line(fig, v)) for v in values]
    assert frames == expected


def test_slider_labels_default_position_and_the_browser_side_link():
    box = explorer([0.001, 0.01, 0.1, 1.0, 10.0], _line, label="α", fmt="{:.0e}")
    slider, stack = box.children
    assert slider.options == ("1e-03", "1e-02", "1e-01", "1e+00", "1e+01")
    assert slider.index == stack.selected_index == 2  # the middle of the grid
    assert len(_embedded_links(box, slider, stack)) == 1  # jslink: switches frames with no kernel


def test_initial_index_is_respected():
    box = explorer([1, 2, 3], _line, label="n", fmt="{:d}", initial=0)
    slider, stack = box.children
    assert slider.index == stack.selected_index == 0


@pytest.mark.parametrize(
    ("values", "kwargs", "name"),
    [
        ([], {}, "values"),
        ([1.0, 2.0], {"initial": 2}, "initial"),
        ([1.0, 2.0], {"initial": -1}, "initial"),
        ([1.0, 1.0004], {"fmt": "{:.2f}"}, "fmt"),
    ],
)
def test_bad_input_names_the_parameter(values, kwargs, name):
    with pytest.raises(ValueError, match=name):
        explorer(values, _line, label="x", **kwargs)
