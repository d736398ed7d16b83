"""Open a chapter in JupyterLab, in headless Chromium, as a reader of the live notebooks would.

The static book has its own browser test (``tests/test_book_browser.py``). This one starts
``jupyter lab`` from the environment the tests run in (with ``jupyterlab-myst``, from the
``dev``/``book`` extras), on a free port of the loopback interface with a token, opens a copy of
chapter 1 as committed (no outputs) and checks what the reader sees there:

- the MyST is rendered by jupyterlab-myst: admonitions and exercise boxes, KaTeX maths, no
  raw ``:::{…}`` text;
- every solution is out of sight until the reader asks: the prose closed in its dropdown, the
  solution's cells folded (``book/_ext/live_cells.py``), and a click reveals them;
- cells tagged ``hide-input``/``remove-input`` show no source (a one-line fold), while the
  experiment's code stays visible;
- run in the notebook's kernel, an explorer switches frames when its slider moves, and a solution
  cell that runs keeps its output folded.

JupyterLab's settings, workspaces, runtime files and trust database go to a temporary folder;
requests that would leave the machine are refused and reported. Screenshots are saved under
``_build/screenshots/`` (``jupyterlab-*.png``). Without Chromium or JupyterLab the test is
skipped locally and fails under CI (``CI`` set).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import execution_cache  # book/_ext, on the path through tests/conftest.py
from _browser import CHROMIUM, CHROMIUM_FLAGS  # tests/, on the path as the test modules' folder
import live_cells

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "book" / "01_what_the_learning_rate_does.ipynb"
SCREENSHOTS = ROOT / "_build" / "screenshots"
JUPYTER = Path(sys.executable).with_name("jupyter")

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("jupyterlab")]

# JupyterLab's user settings for the test: no news or update checks (they would go online), and
# every cell in the page (the default windowing attaches only the cells near the viewport).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def _missing(what: str, fix: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI: {fix}")
    pytest.skip(f"{what} is not installed ({fix})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A JupyterLab server on a copy of the chapter: its URL, token and folders."""
    if importlib.util.find_spec("jupyterlab") is None or not JUPYTER.exists():
        _missing("JupyterLab", 'pip install -e ".[dev]" installs jupyterlab and jupyterlab-myst')
    if importlib.util.find_spec("jupyterlab_myst") is None:
        _missing("jupyterlab-myst", 'pip install -e ".[dev]"')
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        _missing("Debian's chromium", "apt-get install -y chromium")
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    (root / "book").mkdir(parents=True)
    shutil.copy(NOTEBOOK, root / "book" / NOTEBOOK.name)
    settings = base / "settings"
    for name, values in SETTINGS.items():
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    token = os.urandom(16).hex()
    port = _free_port()
    env = {**os.environ, **execution_cache.SINGLE_THREAD,
           "JUPYTER_CONFIG_DIR": str(base / "config"), "JUPYTER_DATA_DIR": str(base / "data"),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"), "IPYTHONDIR": str(base / "ipython")}
    env.pop(execution_cache.BOOK_BUILD, None)  # a reader's kernel: glue shows its live values
    command = [str(JUPYTER), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
               "--LabApp.news_url=", "--LabApp.expose_app_in_browser=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = base / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited ({server.returncode}):\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield {"url": url, "token": token, "root": root, "log": log}
    finally:
        server.send_signal(signal.SIGTERM)  # the server shuts its kernels down
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="module")
def outside() -> list[str]:
    """The requests the page made for anything off this machine (refused)."""
    return []


@pytest.fixture(scope="module")
def page(lab: dict, outside: list[str]) -> Iterator:
    """The chapter open in JupyterLab, every cell attached, its kernel idle."""
    from playwright.sync_api import sync_playwright

    def refuse_outside(route) -> None:
        host = re.match(r"^[a-z]+://([^/:]+)", route.request.url)
        if host and host.group(1) not in ("127.0.0.1", "localhost"):
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            view = browser.new_page(viewport={"width": 1280, "height": 1400})
            view.route("**/*", refuse_outside)
            view.goto(f"{lab['url']}/lab/tree/book/{NOTEBOOK.name}?token={lab['token']}")
            view.wait_for_function(_NOTEBOOK_READY, arg=len(_cells()), timeout=60_000)
            view.wait_for_function(_KERNEL_IDLE, timeout=60_000)
            yield view
        finally:
            browser.close()


# The notebook panel is shown, its model loaded, and every cell attached (windowing off).
_NOTEBOOK_READY = """(n) => {
    const app = window.jupyterapp, panel = app && app.shell.currentWidget;
    return !!(panel && panel.context && panel.context.isReady && panel.content
              && document.querySelectorAll('.jp-Notebook .jp-Cell').length === n);
}"""
_KERNEL_IDLE = """() => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
    return !!kernel && kernel.status === 'idle';
}"""


def _cells() -> list[dict]:
    return live_cells.read(NOTEBOOK)["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _cell(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def _shows_source(cell) -> bool:
    """Whether a cell shows its editor (the source), rather than a folded one-line placeholder."""
    return cell.locator(".jp-InputArea-editor").first.is_visible()


def _screenshot(page, name: str, index: int) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _cell(page, index).scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"jupyterlab-{name}.png"))


def _tagged(*tags: str) -> list[int]:
    return [i for i, c in enumerate(_cells()) if set(c["metadata"].get("tags", [])) & set(tags)]


_ADMONITION = re.compile(r"^:{3,}\{(?:admonition|note|tip|hint|important|seealso|warning|caution|attention|danger|error)\}",
                         re.MULTILINE)


def test_the_myst_is_rendered(page, outside: list[str]) -> None:
    cells = _cells()
    markdown = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                and not c["metadata"].get("jupyter", {}).get("source_hidden")]
    admonitions = sum(len(_ADMONITION.findall(_source(cells[i]))) for i in markdown)
    exercises = sum(_source(cells[i]).count(":::{exercise}") for i in markdown)
    assert admonitions > 0 and exercises > 0
    notebook = page.locator(".jp-Notebook")
    assert notebook.locator(".myst-admonition").count() == admonitions
    titles = notebook.locator("aside.myst-exercise .myst-exercise-title")
    assert titles.filter(has_text=re.compile(r"^Exercise\s*\d")).count() == exercises
    assert notebook.locator(".jp-MarkdownCell .myst .katex").count() > 50
    rendered = "\n".join(_cell(page, i).locator(".myst").first.inner_text() for i in markdown)
    raw = re.findall(r".{0,40}(?::::\{|\{solution|:class: dropdown|:label:).{0,40}", rendered)
    assert raw == [], f"MyST shown as raw text in JupyterLab: {raw}"
    assert outside == [], f"JupyterLab asked for resources off this machine: {outside}"
    _screenshot(page, "exercise", markdown[-1])


def _solution_prose(text: str) -> list[str]:
    """The text of each solution a markdown cell holds: a ``{solution}``'s body, and what follows
    a ``{solution-start}`` directive in its cell."""
    found = []
    for match in re.finditer(r"^(:{3,})\{(solution|solution-start)\}[^\n]*\n(?:[ \t]*:[\w-]+:[^\n]*\n)*",
                             text, re.MULTILINE):
        rest = text[match.end():]
        fence = re.search(rf"^{match.group(1)}[ \t]*$", rest, re.MULTILINE)
        if fence is None:
            found.append(rest)
        else:
            found.append(rest[:fence.start()] if match.group(2) == "solution" else rest[fence.end():])
    return found


def test_solutions_are_hidden_until_the_reader_asks(page) -> None:
    cells = _cells()
    opening = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
               and re.search(r"^:{3,}\{solution(-start)?\}", _source(c), re.MULTILINE)]
    inside = [i for i, flag in enumerate(live_cells.in_solution(cells)) if flag]
    assert len(opening) >= 3 and any(cells[i]["cell_type"] == "code" for i in inside)
    for i in opening:
        dropdowns = _cell(page, i).locator(".myst details.myst-exercise")
        assert dropdowns.count() >= 1, f"cell {i}: no solution dropdown"
        for k in range(dropdowns.count()):
            details = dropdowns.nth(k)
            assert details.get_attribute("open") is None, f"cell {i}: a solution is open"
            assert not details.locator(".details-body").first.is_visible(), f"cell {i}: solution text shown"
    for i in inside:
        cell = _cell(page, i)
        assert not _shows_source(cell), f"cell {i}, inside a solution, shows its source"
        assert cell.locator(".jp-InputPlaceholder").first.is_visible()
    # Nothing of a solution is in the text a reader sees: neither a line of its code (beyond the
    # first, the fold's label, and lines the starter shares) nor a phrase of its prose.
    seen = page.locator(".jp-Notebook").inner_text()
    outside_solutions = "\n".join(_source(c) for i, c in enumerate(cells) if i not in inside)
    secrets = [line.strip() for i in inside for line in _source(cells[i]).splitlines()[1:]
               if len(line.strip()) > 12 and line.strip() not in outside_solutions]
    for i in opening:
        for prose in _solution_prose(_source(cells[i])):
            phrase = re.search(r"[A-Za-z][A-Za-z ,;]{30,}", prose)
            secrets += [phrase.group(0).strip()] if phrase else []
    assert len(secrets) > 10
    leaked = [secret for secret in secrets if secret in seen]
    assert leaked == [], f"solution text a reader sees in JupyterLab: {leaked}"
    # The reader asks: the last gated solution's dropdown opens, its code unfolds.
    start = max(i for i in opening if re.search(r"^:{3,}\{solution-start\}", _source(cells[i]), re.MULTILINE))
    code = next(i for i in inside if i > start and cells[i]["cell_type"] == "code")
    _cell(page, start).locator(".myst details.myst-exercise summary").first.click()
    body = _cell(page, start).locator(".myst details.myst-exercise .details-body").first
    body.wait_for(state="visible", timeout=10_000)
    assert body.inner_text().strip()
    _cell(page, code).locator(".jp-InputPlaceholder").first.click()
    _cell(page, code).locator(".jp-InputArea-editor").first.wait_for(state="visible", timeout=10_000)
    lines = lambda text: [line.rstrip() for line in text.splitlines() if line.strip()]  # noqa: E731
    assert lines(_cell(page, code).locator(".jp-InputArea-editor").first.inner_text()) == lines(_source(cells[code]))
    _screenshot(page, "solution-revealed", start)


def test_folded_cells_show_no_source(page) -> None:
    cells = _cells()
    folded = _tagged("hide-input", "remove-input", "hide-cell", "remove-cell")
    assert len(folded) > 10
    shown = [i for i in folded if _shows_source(_cell(page, i))]
    assert shown == [], f"cells tagged hide-input/remove-input that show their source in JupyterLab: {shown}"
    for i in folded:  # a one-line fold: the first line, and a click unfolds the rest
        placeholder = _cell(page, i).locator(".jp-InputPlaceholder").first
        assert placeholder.is_visible() and len(placeholder.inner_text().splitlines()) <= 1
    # The experiment's code stays in view (the check above can fail: visible cells show their editor).
    visible = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and not c["metadata"]]
    assert visible and all(_shows_source(_cell(page, i)) for i in visible)


# The frame an explorer shows: the source of its visible image (a Stack hides the others).
_VISIBLE_FRAME = """(cell) => Array.from(cell.querySelectorAll('.widget-image, img'))
    .filter(i => i.getBoundingClientRect().height > 0).map(i => i.src).join(' ')"""
_FRAME_CHANGED = f"([cell, frame]) => {{ const now = ({_VISIBLE_FRAME})(cell); return now !== frame && now !== ''; }}"


def _errors(page) -> str:
    return "\n".join(page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
                     .all_inner_texts())[-3000:]


def _run_up_to(page, index: int) -> None:
    """Run every cell from the first to ``index`` in the kernel, as Run > Run All Above would."""
    page.evaluate("""(n) => {
        const panel = window.jupyterapp.shell.currentWidget;
        panel.content.activeCellIndex = n;
        window.jupyterapp.commands.execute('notebook:run-all-above');
    }""", index + 1)


def test_an_explorer_switches_frames_in_the_kernel(page) -> None:
    cells = _cells()
    index = next(i for i, c in enumerate(cells) if c["cell_type"] == "code"
                 and re.search(r"^explorer\(", _source(c), re.MULTILINE))
    _run_up_to(page, index)
    cell = _cell(page, index)
    handle = cell.locator(".widget-slider .noUi-handle").first
    try:
        handle.wait_for(state="visible", timeout=120_000)
    except Exception as error:  # noqa: BLE001 - report what the kernel said instead
        raise AssertionError(f"no explorer slider in cell {index}; errors shown:\n{_errors(page)}") from error
    page.wait_for_function(f"(cell) => ({_VISIBLE_FRAME})(cell) !== ''", arg=cell.element_handle(), timeout=30_000)
    readout = cell.locator(".widget-readout").first
    before = (readout.inner_text(), cell.evaluate(_VISIBLE_FRAME))
    handle.focus()
    key = "ArrowLeft" if handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax") else "ArrowRight"
    page.keyboard.press(key)
    page.wait_for_function(_FRAME_CHANGED, arg=[cell.element_handle(), before[1]], timeout=10_000)
    after = (readout.inner_text(), cell.evaluate(_VISIBLE_FRAME))
    assert after[0] != before[0] and after[1] != before[1]
    _screenshot(page, "explorer", index)


def test_a_solution_that_runs_keeps_its_source_folded(page, outside: list[str]) -> None:
    """Run, a solution's code stays folded. Its output shows: JupyterLab unfolds a cell's outputs
    whenever it runs it (``outputs_hidden`` folds them only until then), so a solution cell's
    output is the checker's verdict, never the answer."""
    cells = _cells()
    inside = live_cells.in_solution(cells)
    codes = [i for i, c in enumerate(cells) if inside[i] and c["cell_type"] == "code"]
    code = codes[0]  # the first exercise's: it needs only its starter cell's import
    starter = max(i for i in range(code) if cells[i]["cell_type"] == "code" and not inside[i])
    page.wait_for_function(_KERNEL_IDLE, timeout=120_000)
    for i in (starter, code):
        page.evaluate("""(n) => {
            const panel = window.jupyterapp.shell.currentWidget;
            panel.content.activeCellIndex = n;
            window.jupyterapp.commands.execute('notebook:run-cell');
        }""", i)
    solution = _cell(page, code)
    output = solution.locator(".jp-OutputArea-output").last
    output.wait_for(state="visible", timeout=60_000)
    assert "not attempted yet" in _cell(page, starter).locator(".jp-OutputArea").first.inner_text(), _errors(page)
    assert "agrees with the reference" in output.inner_text(), _errors(page)
    assert not _shows_source(solution) and solution.locator(".jp-InputPlaceholder").first.is_visible()
    _screenshot(page, "solution-run", code)
    assert outside == [], f"JupyterLab asked for resources off this machine: {outside}"
