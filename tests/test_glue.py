"""lrcourse.display.glue: formats once, records for myst-nb in a kernel, and rejects bad names."""

from __future__ import annotations

import pytest

from lrcourse.display import glue


def test_formats_once_and_returns_the_text_the_page_shows() -> None:
    assert glue("ratio", 296.4281, ".0f") == "296"
    assert glue("small", 0.004321, ".2g") == "0.0043"
    assert glue("word", "narrowest") == "narrowest"      # a string is taken as it is
    assert f"{glue('count', 7, 'd')} runs" == "7 runs"   # a plain string to the code around it


@pytest.mark.parametrize("name", ["", "two words", "1st", None, 3])
def test_rejects_a_name_myst_nb_cannot_refer_to(name: object) -> None:
    with pytest.raises(ValueError, match="name"):
        glue(name, 1.0)  # type: ignore[arg-type]


def test_in_a_kernel_records_for_myst_nb_and_shows_the_live_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Executed in a real kernel: myst-nb's record, the fallback line, and no echoed output."""
    from lrcourse.display import BOOK_BUILD_VARIABLE

    monkeypatch.delenv(BOOK_BUILD_VARIABLE, raising=False)  # a live notebook, not the book's build
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("myst_nb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from lrcourse.display import glue\nglue('edge', 1.987654, '.2f')"),
                nbformat.v4.new_code_cell("glue('answer', 0.25, '.2f', show=False)")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    recorded = [o for o in outputs if o.get("metadata", {}).get("scrapbook", {}).get("name") == "edge"]
    assert len(recorded) == 1 and "1.99" in str(recorded[0]["data"])
    shown = [o for o in outputs if "text/html" in o.get("data", {})]
    assert len(shown) == 1 and "edge = <b>1.99</b>" in shown[0]["data"]["text/html"]
    assert not [o for o in outputs if o.output_type == "execute_result"]  # the return value is not echoed
    # show=False (a solution's answer): recorded for the page, but nothing a live reader can see
    quiet = nb.cells[1].outputs
    assert [o["metadata"]["scrapbook"]["name"] for o in quiet] == ["answer"]
    assert not [o for o in quiet if set(o.get("data", {})) & {"text/html", "text/plain"}]


def test_show_must_be_a_flag() -> None:
    with pytest.raises(TypeError, match="show"):
        glue("x", 1.0, show="no")  # type: ignore[arg-type]
