"""The package is two layers with one direction: a NumPy core, and lrcourse.torch on top of it.

- The core imports no torch: importing every core module, running a range test on a
  quadratic and a sweep of a problem leaves ``torch`` out of ``sys.modules``.
- The import graph of lrcourse, read from the source with :mod:`ast`, has no circle,
  and no core module imports :mod:`lrcourse.torch`.
- No module imports a private name (``_helper``) of another lrcourse module, nor a
  private module (``lrcourse.x._y``) from outside its own package: what two layers
  share is public in the lower one.
- No function imports an lrcourse module: a function-level import is the workaround
  for a circle or a wrong layering. Only heavy third-party libraries that few calls
  need are imported lazily (:data:`LAZY_THIRD_PARTY`).

The helpers that read the graph are tested on small made-up sources too
(``test_the_checks_can_fail``), so a check that silently found nothing would show.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lrcourse"

# Core modules the issue names (the test imports every module outside lrcourse.torch).
CORE_MODULES = [
    "lrcourse", "lrcourse.schedules", "lrcourse.numpy", "lrcourse.numpy.tree", "lrcourse.problems",
    "lrcourse.sweep", "lrcourse.range_test", "lrcourse.clipping", "lrcourse.metrics", "lrcourse.validation",
    "lrcourse.plots", "lrcourse.widgets", "lrcourse.display", "lrcourse.exercises",
    "lrcourse.exercises.ch1", "lrcourse.exercises.ch2", "lrcourse.exercises.ch3", "lrcourse.exercises.ch4",
    "lrcourse.exercises.ch5",
]

# Modules outside lrcourse.torch that may import it, each with its reason.
TORCH_USERS_IN_CORE = {
    # chapter 4b's exercises check layer-wise param groups and clipping on the chapter's MLP
    "lrcourse.exercises.ch4b",
    # chapter 7b's exercise checks μP's rates against mup_param_groups on a WidthMLP
    "lrcourse.exercises.ch7b",
    # chapter 7c's exercise checks the PSNR against lrcourse.torch.data.image.psnr
    "lrcourse.exercises.ch7c",
}

# Third-party libraries that a function may import when it is called (heavy, and needed
# by few calls): scikit-learn and SciPy for one data loader and one interval, matplotlib's
# colour norms, IPython and myst_nb only inside a notebook, CuPy only for CuPy arrays.
LAZY_THIRD_PARTY = {"sklearn", "scipy", "matplotlib", "IPython", "myst_nb", "cupy"}


@dataclass(frozen=True)
class Import:
    """One import statement's target, as read from the source."""

    importer: str  # the module that imports
    module: str  # the module imported (for ``from m import n``: m, or m.n when that is a module)
    names: tuple[str, ...]  # the names taken from it (``from m import a, b``); () for ``import m``
    line: int
    in_function: bool  # inside a def (or a class body), not at module level

    def __str__(self) -> str:
        what = f"from {self.module} import {', '.join(self.names)}" if self.names else f"import {self.module}"
        return f"{self.importer}:{self.line}: {what}"


def module_name(path: Path, root: Path) -> str:
    """Return the dotted name of the module at ``path``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(name: str, root: Path) -> bool:
    return (root.parent / Path(*name.split(".")) / "__init__.py").exists()


def is_module(name: str, root: Path) -> bool:
    return is_package(name, root) or (root.parent / Path(*name.split("."))).with_suffix(".py").exists()


def read_imports(source: str, importer: str, *, package: bool) -> Iterator[Import]:
    """Yield every import in ``source``, module-level and inside functions, relative ones resolved."""
    tree = ast.parse(source)
    here = importer.split(".") if package else importer.split(".")[:-1]

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                                       ast.ClassDef))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(importer, alias.name, (), child.lineno, in_function)
            elif isinstance(child, ast.ImportFrom):
                base = here[:len(here) - child.level + 1] if child.level else []
                module = ".".join(base + ([child.module] if child.module else []))
                yield Import(importer, module, tuple(a.name for a in child.names), child.lineno, in_function)
            yield from visit(child, nested)

    yield from visit(tree, False)


def package_imports(root: Path = PACKAGE) -> list[Import]:
    """Every import in every module of the package at ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        found.extend(read_imports(path.read_text(), name, package=path.name == "__init__.py"))
    return found


def is_lrcourse(module: str, root: Path = PACKAGE) -> bool:
    return module == root.name or module.startswith(root.name + ".")


def graph(imports: Iterable[Import], modules: set[str]) -> dict[str, set[str]]:
    """The module graph: an edge from each importer to each lrcourse module that its imports run.

    ``from m import n`` imports ``m``, and ``m.n`` as well when that is a module. An
    import of a package is an import of its ``__init__`` (the package's own name), and
    an import of ``a.b.c`` runs the packages ``a`` and ``a.b`` first, as Python does;
    except the packages the importer lies in, which are being imported already.
    """
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for imp in imports:
        named = {imp.module} | {f"{imp.module}.{n}" for n in imp.names}
        run = {".".join(t.split(".")[:i]) for t in named for i in range(1, t.count(".") + 2)}
        own = {".".join(imp.importer.split(".")[:i]) for i in range(1, imp.importer.count(".") + 2)}
        edges[imp.importer] |= {t for t in run - own if t in modules}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """Return one circle of the graph as ``[a, b, ..., a]``, or None if it has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def parent_package(module: str, root: Path = PACKAGE) -> str:
    return module if is_package(module, root) else module.rpartition(".")[0]


def private_imports(imports: Iterable[Import], root: Path = PACKAGE) -> list[str]:
    """The imports of a private name, or of a private module from outside its package."""
    found = []
    for imp in imports:
        if not is_lrcourse(imp.module, root):
            continue
        private_names = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
        if private_names:
            found.append(f"{imp} (private name {', '.join(private_names)})")
        for module in [imp.module] + [f"{imp.module}.{n}" for n in imp.names if is_module(f"{imp.module}.{n}", root)]:
            parts = module.split(".")
            private = [i for i, part in enumerate(parts) if part.startswith("_") and not part.startswith("__")]
            if not private:
                continue
            owner = ".".join(parts[:private[0]])  # the package the private module belongs to
            inside = parent_package(imp.importer, root)
            if not (inside == owner or inside.startswith(owner + ".")):
                found.append(f"{imp} (private module {module} of {owner})")
    return found


def private_attributes(source: str, importer: str, root: Path = PACKAGE) -> list[str]:
    """The uses of ``module._name`` where ``module`` is an lrcourse module bound by an import."""
    tree = ast.parse(source)
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {a.asname or a.name.split(".")[0] for a in node.names if is_lrcourse(a.name, root)}
        elif isinstance(node, ast.ImportFrom) and node.module and is_lrcourse(node.module, root):
            bound |= {a.asname or a.name for a in node.names if is_module(f"{node.module}.{a.name}", root)}
    return [f"{importer}:{node.lineno}: {ast.unparse(node)}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
            and isinstance(root_name := _leftmost(node), ast.Name) and root_name.id in bound]


def _leftmost(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def function_imports(imports: Iterable[Import], root: Path = PACKAGE) -> list[str]:
    """The imports inside functions, except of the lazy third-party libraries."""
    return [str(imp) for imp in imports
            if imp.in_function and (is_lrcourse(imp.module, root) or imp.module.split(".")[0] not in LAZY_THIRD_PARTY)]


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return package_imports()


@pytest.fixture(scope="module")
def modules() -> set[str]:
    return {module_name(path, PACKAGE) for path in PACKAGE.rglob("*.py")}


def is_torch_layer(module: str) -> bool:
    return module == "lrcourse.torch" or module.startswith("lrcourse.torch.")


def core_modules(modules: set[str]) -> list[str]:
    """Every module outside lrcourse.torch, but those allowed to use it."""
    return sorted(m for m in modules if not is_torch_layer(m) and m not in TORCH_USERS_IN_CORE)


def test_the_core_is_found(modules: set[str]) -> None:
    """The modules the issue names as the core are found by the walk, so the next test imports them."""
    assert set(CORE_MODULES) <= set(core_modules(modules))
    assert TORCH_USERS_IN_CORE <= modules


def test_the_core_imports_no_torch(modules: set[str]) -> None:
    """Import every core module, run a range test and a sweep on NumPy problems: torch stays unloaded."""
    script = textwrap.dedent(f"""
        import importlib, sys
        for name in {core_modules(modules)!r}:
            importlib.import_module(name)
        from lrcourse.numpy import Adam
        from lrcourse.problems import Quadratic, Rosenbrock
        from lrcourse.range_test import problem_range_test
        from lrcourse.sweep import sweep
        result = problem_range_test(Quadratic(kappa=10.0, L=10.0, dim=10))
        assert result.diverged_at is not None, result
        run = sweep(Rosenbrock(), Adam, lr=[1e-3, 1e-2], steps=20)
        assert run.losses.shape == (2, 21), run.losses.shape
        loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
        print(loaded)
        assert not loaded, loaded
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_import_graph_has_no_circle(imports: list[Import], modules: set[str]) -> None:
    cycle = find_cycle(graph(imports, modules))
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_no_core_module_imports_the_torch_layer(imports: list[Import]) -> None:
    wrong = [str(imp) for imp in imports
             if not is_torch_layer(imp.importer) and imp.importer not in TORCH_USERS_IN_CORE
             and (is_torch_layer(imp.module) or imp.module.split(".")[0] == "torch")]
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_a_private_name_of_another(imports: list[Import]) -> None:
    wrong = private_imports(imports)
    for path in sorted(PACKAGE.rglob("*.py")):
        wrong += private_attributes(path.read_text(), module_name(path, PACKAGE))
    assert not wrong, "\n".join(wrong)


def test_no_function_imports_an_lrcourse_module(imports: list[Import]) -> None:
    wrong = function_imports(imports)
    assert not wrong, "\n".join(wrong)


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """Each check finds the fault it is for, in a made-up package."""
    root = tmp_path / "lrcourse"
    files = {
        "__init__.py": "",
        "a.py": "from lrcourse.b import helper\n",
        "b.py": "from lrcourse.pkg._impl import thing, _hidden\n",
        "pkg/__init__.py": "from lrcourse.pkg._impl import thing\n",
        "pkg/_impl.py": "from . import sibling\nthing = 1\n",
        "pkg/sibling.py": "def f():\n    from ..a import x\n    import scipy\n    import torch\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    found = package_imports(root)
    modules = {module_name(p, root) for p in root.rglob("*.py")}
    # a -> b -> pkg (run before pkg._impl) -> pkg._impl -> pkg.sibling -> a
    assert find_cycle(graph(found, modules)) == ["lrcourse.a", "lrcourse.b", "lrcourse.pkg", "lrcourse.pkg._impl",
                                                 "lrcourse.pkg.sibling", "lrcourse.a"]
    assert find_cycle({"x": {"y"}, "y": set()}) is None
    private = private_imports(found, root)
    assert len(private) == 2 and all(p.startswith("lrcourse.b:1:") for p in private), private  # pkg's own is fine
    attributes = private_attributes("import lrcourse.pkg as p\nfrom lrcourse import b\nimport numpy as np\n"
                                    "p._impl.thing, b._hidden(), np._core, b.public\n", "lrcourse.c", root)
    assert attributes == ["lrcourse.c:4: p._impl", "lrcourse.c:4: b._hidden"], attributes
    assert function_imports(found, root) == ["lrcourse.pkg.sibling:2: from lrcourse.a import x",
                                             "lrcourse.pkg.sibling:4: import torch"]
