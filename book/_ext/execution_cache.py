"""Execute the book's notebooks once, into a cache that the build and the tests read.

The build (myst-nb with ``execute_notebooks: cache``) takes a notebook's outputs from a
jupyter-cache when the cache holds an execution of the notebook's current code, and the
tests check the same records instead of executing every notebook a second time. Three
things make that safe:

- **The cache knows the package.** jupyter-cache hashes a notebook's code cells only, so
  a change to ``lrcourse`` would leave stale outputs behind. The cache folder is named
  after a hash of the package's sources (:func:`cache_path`): edit the package and every
  notebook executes again.
- **Two at a time.** The notebooks are single-threaded (``torch.set_num_threads(1)`` and
  one BLAS thread, set here for the kernels), so two of them run side by side on the
  2-core machine (:func:`execute`).
- **Another numerical environment.** :data:`PERTURBED` names the environment variables
  that change the kernels torch, MKL and OpenBLAS pick (SIMD width, blocking, reduction
  order). ``python book/_ext/execution_cache.py perturbed`` executes every notebook again under them,
  and every assert in every notebook must hold in both runs.

The Sphinx side is :func:`setup`: it points myst-nb at :func:`cache_path`.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import tempfile
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# One thread for every library a kernel uses: two notebooks share the two cores.
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

# The second numerical environment, the same on every machine: torch's portable
# (non-vectorised) kernels, MKL held to AVX2 (or below, where the CPU has less), and
# OpenBLAS's Haswell kernels instead of whatever it picks for this CPU (SkylakeX or Zen on
# the machines seen so far). Each changes the order and width of floating-point sums.
PERTURBED = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
}

# lrcourse.display.BOOK_BUILD_VARIABLE: set in every kernel the book executes, so that
# lrcourse.display.glue leaves its live-notebook fallback out of the page.
BOOK_BUILD = "LRCOURSE_BOOK_BUILD"

# A notebook must run in 60 s on the 2-core machine (book/CONTRIBUTING.md); that is
# reported, not tested (the machines are shared). Only a runaway, three times that, fails.
BUDGET_S = 60.0
CEILING_S = 3 * BUDGET_S


def toc_files(root: Path = ROOT) -> list[str]:
    """Return every page of the table of contents, in its order, as written there (no suffix)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))

    def files(entry: Mapping) -> Iterable[str]:
        if "file" in entry:
            yield entry["file"]
        for key in ("parts", "chapters", "sections"):
            for child in entry.get(key, []):
                yield from files(child)

    return [toc["root"], *files(toc)]


def notebooks(root: Path = ROOT) -> list[Path]:
    """Return the notebooks of the table of contents, in its order."""
    found = [root / f"{f}.ipynb" for f in toc_files(root)]
    return [p for p in found if p.exists()]


def package_hash(root: Path = ROOT) -> str:
    """Hash the sources of ``lrcourse`` (and the torch version), for :func:`cache_path`."""
    import torch

    digest = hashlib.sha256(torch.__version__.encode())
    for path in sorted((root / "lrcourse").rglob("*")):
        if path.is_file() and path.suffix in {".py", ".mplstyle"}:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_path(root: Path = ROOT) -> Path:
    """Return the jupyter-cache folder for the package as it is now."""
    return root / "_build" / ".jupyter_cache" / package_hash(root)


def get_cache(root: Path = ROOT):
    from jupyter_cache import get_cache as _get_cache

    return _get_cache(str(cache_path(root)))


@dataclass(frozen=True)
class Run:
    """One execution of one notebook."""

    notebook: str          # relative to the root
    wall_s: float          # from the kernel's start to its shutdown
    cpu_s: float           # the kernel's user + system time (and its children's)
    error: str | None      # the traceback where a cell failed, else None
    environment: dict[str, str]
    slowest: list[tuple[int, float]]  # (cell index, seconds) of the five slowest cells

    @property
    def problem(self) -> str | None:
        """Why the run failed (a cell's error, or a runaway past :data:`CEILING_S`), else None."""
        if self.error:
            return self.error
        if self.wall_s > CEILING_S:
            return (f"it ran {self.wall_s:.0f} s, over the {CEILING_S:.0f} s ceiling "
                    f"(three times the {BUDGET_S:.0f} s budget): a runaway")
        return None


def _execute_one(path: str, environment: dict[str, str], timeout: int):
    import nbclient
    import nbformat

    os.environ.update(SINGLE_THREAD)
    os.environ.update(environment)
    # The inline backend, as in Jupyter (it renders with Agg): a plain "Agg" here would drop
    # every figure from the outputs, and so from the book.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ[BOOK_BUILD] = "1"
    # torch.compile's on-disk cache does not key its generated C++ on ATEN_CPU_CAPABILITY:
    # code vectorised for this CPU, reused under the portable kernels, fails to compile
    # ("'at::vec' has not been declared"). One cache folder per kernel level.
    level = environment.get("ATEN_CPU_CAPABILITY", "native")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / f"torchinductor-lrcourse-{level}")
    nb = nbformat.read(path, as_version=4)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    error = None
    try:
        nbclient.NotebookClient(nb, timeout=timeout, allow_errors=False,
                                resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    except (nbclient.exceptions.CellExecutionError, nbclient.exceptions.CellTimeoutError) as err:
        error = str(err)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run = Run(str(Path(path).relative_to(ROOT)), wall, cpu, error, environment, _slowest(nb))
    for cell in nb.cells:  # jupyter-cache hashes the cells' metadata: store them as the source has them
        cell.get("metadata", {}).pop("execution", None)
    return run, nb


def _slowest(nb, n: int = 5) -> list[tuple[int, float]]:
    from datetime import datetime

    times = []
    for i, cell in enumerate(nb.cells):
        stamps = cell.get("metadata", {}).get("execution", {})
        start, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
        if start and end:
            seconds = (datetime.fromisoformat(end.rstrip("Z")) - datetime.fromisoformat(start.rstrip("Z")))
            times.append((i, round(seconds.total_seconds(), 2)))
    return sorted(times, key=lambda t: -t[1])[:n]


def execute(paths: Iterable[Path], environment: Mapping[str, str] | None = None, *,
            cache: bool = True, workers: int = 2, timeout: int = int(CEILING_S),
            out: Path | None = None, log=print) -> list[Run]:
    """Execute notebooks, ``workers`` at a time, each in a fresh kernel.

    With ``cache=True`` a notebook whose current code is already in the cache is not
    executed again, and each successful execution is stored there (the build then uses
    it). ``environment`` is added to each kernel's environment (:data:`PERTURBED`).
    ``out``: a folder to write each executed notebook to, under its path in the book.
    """
    import nbformat

    environment = dict(environment or {})
    paths = [Path(p).resolve() for p in paths]
    store = get_cache() if cache else None
    todo = []
    for path in paths:
        if store is not None:
            try:
                store.match_cache_notebook(nbformat.read(path, as_version=4))
                log(f"cached    {path.relative_to(ROOT)}")
                continue
            except KeyError:
                pass
        todo.append(path)
    runs = []
    if not todo:
        return runs
    with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
        futures = {pool.submit(_execute_one, str(p), environment, timeout): p for p in todo}
        for future in as_completed(futures):
            run, nb = future.result()
            runs.append(run)
            status = "FAILED" if run.error else "ok"
            cells = ", ".join(f"{i}: {t:.1f}" for i, t in run.slowest)
            log(f"{status:9} {run.notebook}: {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s CPU "
                f"(slowest cells, index: s: {cells})")
            if out is not None:
                target = Path(out) / run.notebook
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, target)
            if store is not None and run.error is None:
                from jupyter_cache.base import CacheBundleIn

                record = store.add_nb_to_project(str(futures[future]))
                store.cache_notebook_bundle(
                    CacheBundleIn(nb, record.uri, data={"execution_seconds": run.wall_s, "run": asdict(run)}),
                    check_validity=False, overwrite=True)
    order = {str(p.relative_to(ROOT)): i for i, p in enumerate(paths)}
    return sorted(runs, key=lambda r: order[r.notebook])


RUNS = ROOT / "_build" / "notebook-runs"


def save(runs: list[Run], name: str) -> Path:
    """Write runs to ``_build/notebook-runs/<name>.json``, merged with earlier ones."""
    import fcntl

    RUNS.mkdir(parents=True, exist_ok=True)
    path = RUNS / f"{name}.json"
    with open(RUNS / ".lock", "w") as lock:  # runs save side by side (pytest -n 2)
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = {r["notebook"]: r for r in json.loads(path.read_text())} if path.exists() else {}
        known.update({r.notebook: asdict(r) for r in runs})
        path.write_text(json.dumps(list(known.values()), indent=1))
    return path


def report(names: Iterable[str] = ("native", "perturbed")) -> str:
    """Tabulate the recorded runs: each notebook's wall and CPU time per environment."""
    table = {}
    for name in names:
        path = RUNS / f"{name}.json"
        for r in json.loads(path.read_text()) if path.exists() else []:
            table.setdefault(r["notebook"], {})[name] = r
    if not table:
        return "no notebook runs recorded (run `python book/_ext/execution_cache.py execute`)"
    names = tuple(names)
    head = "| notebook | " + " | ".join(f"{n} wall s | {n} CPU s" for n in names) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(tuple(names))]
    order = [str(p.relative_to(ROOT)) for p in notebooks()]
    for nb in [n for n in order if n in table]:  # the book's notebooks, in its order
        cells = []
        for name in names:
            r = table[nb].get(name)
            cells += ["–", "–"] if r is None else [
                f"{r['wall_s']:.1f}{' ⚠' if r['wall_s'] > BUDGET_S else ''}{' FAILED' if r['error'] else ''}",
                f"{r['cpu_s']:.1f}"]
        lines.append(f"| {nb} | " + " | ".join(cells) + " |")
    for name in names:
        total = sum(table[nb][name]["wall_s"] for nb in order if name in table.get(nb, {}))
        lines.append(f"{name}: {total:.0f} s of kernel wall time in all")
    lines.append(f"(⚠: over the {BUDGET_S:.0f} s budget of one notebook on the 2-core machine)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["execute", "perturbed", "report"],
                        help="execute: into the cache, as the build would; perturbed: again, "
                             "under PERTURBED, outside the cache; report: the times recorded")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook of _toc.yml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the executed notebooks here too")
    args = parser.parse_args(argv)
    if args.command == "report":
        print(report())
        return 0
    paths = args.notebooks or notebooks()
    perturbed = args.command == "perturbed"
    runs = execute(paths, PERTURBED if perturbed else None, cache=not perturbed, workers=args.workers,
                   out=args.out)
    save(runs, "perturbed" if perturbed else "native")
    failed = [r for r in runs if r.problem]
    for r in failed:
        print(f"\n{r.notebook} failed{' under ' + str(r.environment) if r.environment else ''}:\n{r.problem}")
    return 1 if failed else 0


def setup(app):
    """Sphinx: read (and write) the execution cache of the package as it is now."""

    os.environ[BOOK_BUILD] = "1"  # for the kernels myst-nb starts itself, on a cache miss
    current = package_hash()

    def point_at_cache(app, config):
        if config.nb_execution_mode == "cache":
            config.nb_execution_cache_path = str(cache_path())

    def notebooks_of_an_older_package(app, env, added, changed, removed):
        # Sphinx reads again only the pages whose source changed; a page that executes
        # the package must be read again when the package changed (no more `--all`).
        if getattr(env, "lrcourse_package_hash", current) == current:
            return []
        return [doc for doc in env.found_docs if env.doc2path(doc).endswith(".ipynb")]

    def remember(app, env, docnames):
        env.lrcourse_package_hash = current

    app.connect("config-inited", point_at_cache, priority=900)
    app.connect("env-get-outdated", notebooks_of_an_older_package)
    app.connect("env-before-read-docs", remember)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}


if __name__ == "__main__":
    raise SystemExit(main())
