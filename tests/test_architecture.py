"""The shape of the package, checked on its source: arrows point one way, files are read in ``io/`` only, and
modules do not reach into each other's private helpers.

The import graph is built with :mod:`ast` from every import statement of ``src/accord`` -- at module level,
inside functions and under ``if TYPE_CHECKING:``, relative and absolute -- plus the package ``__init__`` that
every import of a sub-module runs. The same checks run on small synthetic packages made in ``tmp_path``, so
that each of them is seen to fail.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "accord"

# Calls that read a file (or a file-like resource): ``pd.read_csv(...)``, ``np.load(...)``,
# ``path.read_text()``, ``open(path)`` / ``path.open()`` without a writing mode, ``Image.open(...)`` ...
READ_ATTRIBUTES = frozenset(
    {
        "read_csv",
        "read_table",
        "read_parquet",
        "read_json",
        "read_excel",
        "read_feather",
        "read_fwf",
        "read_pickle",
        "read_text",
        "read_bytes",
        "loadtxt",
        "genfromtxt",
        "fromfile",
        "loadmat",
        "imread",
    }
)
LOADING_MODULES = frozenset({"np", "numpy", "json", "pickle", "yaml", "torch", "joblib"})  # their .load(...)
WRITING_MODES = ("w", "a", "x")

# Modules outside io/ that may read files, each with its reason. HARDEN moves the reading into io/ and deletes
# the entries here (issue 10, point 4); nothing may be added without a reason.
READING_ALLOWED: dict[str, str] = {}

# Import cycles that exist today, each with its owner. A cycle found inside one of these sets passes; any
# other fails. The owners break them and delete the entry (the test says when an entry is no longer needed).
CYCLES_ALLOWED: dict[frozenset[str], str] = {}

# Model modules: one method family each. They may import model *classes* from each other (to subclass or
# compose), never functions, constants or private names; shared math lives in accord._kernel.
MODEL_PACKAGE = "models"
# Not model modules: the registry and the private support modules (models/_base.py, a family's own
# models/_lia_net.py), which hold classes and checks for the models rather than a method of their own.
MODEL_INFRASTRUCTURE = frozenset({"registry"})


# Arrows point down: cli -> the areas (quality, ambiguity, planning, evaluation), report and engines ->
# models and tasks -> _kernel -> Annotations. ``FORBIDDEN[a]`` lists the top-level parts of the package that
# part ``a`` must not import, even inside a function (a part is the first name below ``accord``).
AREAS = frozenset({"quality", "ambiguity", "planning", "evaluation"})
EDGES = frozenset({"cli", "report", "compat"})
FORBIDDEN: dict[str, frozenset[str]] = {
    "_kernel": AREAS | EDGES | {"models", "tasks", "io", "consensus", "engines"},
    "annotations": AREAS | EDGES | {"models", "tasks", "io", "consensus", "engines"},
    "consensus": AREAS | EDGES | {"models", "tasks", "io", "engines"},
    "models": AREAS | EDGES | {"tasks", "io", "engines"},
    "io": AREAS | EDGES | {"engines"},
    "engines": AREAS | EDGES,
    **{area: EDGES for area in AREAS},
    "report": frozenset({"cli", "compat"}),
}
# Upward imports that exist today, each with its owner, who removes the entry when it is fixed.
LAYERING_ALLOWED: dict[tuple[str, str], str] = {}


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    classes: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ImportEdge:
    source: str
    target: str
    names: tuple[str, ...]  # the names taken by ``from target import ...`` (empty for ``import target``)
    line: int


def load_package(root: Path, package: str) -> dict[str, Module]:
    """Every module of ``package`` under ``root`` (a ``src`` folder), parsed."""
    modules: dict[str, Module] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
        modules[".".join(parts)] = Module(".".join(parts), path, is_package, tree, classes)
    return modules


def _base_of(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def import_edges(modules: dict[str, Module], package: str) -> Iterator[ImportEdge]:
    """One edge per imported in-package module, for every import statement anywhere in a module."""
    for module in modules.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == package:
                        yield ImportEdge(module.name, alias.name, (), node.lineno)
            elif isinstance(node, ast.ImportFrom):
                base = _base_of(module, node)
                if base.split(".")[0] != package:
                    continue
                plain = [a.name for a in node.names if f"{base}.{a.name}" not in modules]
                for alias in node.names:
                    if f"{base}.{alias.name}" in modules:  # ``from . import io``: the sub-module itself
                        yield ImportEdge(module.name, f"{base}.{alias.name}", (), node.lineno)
                if plain:
                    yield ImportEdge(module.name, base, tuple(plain), node.lineno)


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(modules: dict[str, Module], package: str) -> dict[str, set[str]]:
    """``graph[a]`` = the modules that importing ``a`` runs: the imported modules and their package
    ``__init__``s (except packages that contain ``a``, which are already running when ``a`` runs)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for edge in import_edges(modules, package):
        own = set(_ancestors(edge.source)) | {edge.source}
        for target in [*_ancestors(edge.target), edge.target]:
            if target in modules and target not in own:
                graph[edge.source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _receiver(func: ast.Attribute) -> str:
    value = func.value
    return value.id if isinstance(value, ast.Name) else ""


def _writing_mode(call: ast.Call, position: int) -> bool:
    mode = call.args[position] if len(call.args) > position else None
    for kw in call.keywords:
        if kw.arg == "mode":
            mode = kw.value
    text = mode.value if isinstance(mode, ast.Constant) else None
    return isinstance(text, str) and text.startswith(WRITING_MODES)


def reading_calls(module: Module) -> Iterator[tuple[int, str]]:
    """``(line, call)`` for every call in ``module`` that reads a file."""
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "open" and not _writing_mode(node, 1):
            yield node.lineno, "open(...)"
        elif isinstance(func, ast.Attribute):
            if func.attr in READ_ATTRIBUTES:
                yield node.lineno, f".{func.attr}(...)"
            elif func.attr == "load" and _receiver(func) in LOADING_MODULES:
                yield node.lineno, f"{_receiver(func)}.load(...)"
            elif func.attr == "open" and _receiver(func) != "webbrowser":
                # path.open() / Image.open(path) / gzip.open(path): the mode is the first argument of
                # path.open and the second of the module-level functions
                position = 0 if not node.args or _receiver(func) == "" else 1
                if not _writing_mode(node, position):
                    yield node.lineno, f"{_receiver(func) or '<expr>'}.open(...)"


def reading_outside_io(modules: dict[str, Module], package: str, allowed: dict[str, str]) -> list[str]:
    io_package = f"{package}.io"
    problems = []
    for module in modules.values():
        if module.name == io_package or module.name.startswith(io_package + ".") or module.name in allowed:
            continue
        for line, call in reading_calls(module):
            problems.append(f"{module.path.name}:{line} ({module.name}) reads a file with {call}")
    return problems


def _is_model_module(name: str, package: str) -> bool:
    prefix = f"{package}.{MODEL_PACKAGE}."
    part = name[len(prefix) :].split(".")[0]
    return name.startswith(prefix) and not part.startswith("_") and part not in MODEL_INFRASTRUCTURE


def _classes_of(modules: dict[str, Module], name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """Classes defined in module ``name`` or imported into it from another in-package module."""
    module = modules[name]
    classes = set(module.classes)
    for node in module.tree.body:
        if isinstance(node, ast.ImportFrom):
            base = _base_of(module, node)
            if base in modules and base not in seen:
                found = _classes_of(modules, base, seen | {name})
                classes |= {a.asname or a.name for a in node.names if a.name in found}
    return classes


def private_imports(modules: dict[str, Module], package: str) -> list[str]:
    """A model module taking a function, constant or private name from another model module, and any module
    taking an underscore name from another module."""
    problems = []
    for edge in import_edges(modules, package):
        if edge.target == edge.source or edge.target not in modules:
            continue
        private = [n for n in edge.names if n.startswith("_") and not n.endswith("__")]
        if private:
            problems.append(f"{edge.source}:{edge.line} imports private {private} from {edge.target}")
        if _is_model_module(edge.source, package) and _is_model_module(edge.target, package):
            helpers = [n for n in edge.names if n not in _classes_of(modules, edge.target)]
            helpers = [n for n in helpers if not n.startswith("_")]
            if helpers:
                problems.append(
                    f"{edge.source}:{edge.line} imports helpers {helpers} from model module {edge.target}; "
                    f"move them into {package}._kernel"
                )
    return problems


def _part(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward_imports(
    modules: dict[str, Module],
    package: str,
    forbidden: dict[str, frozenset[str]],
    allowed: dict[tuple[str, str], str] | None = None,
) -> list[str]:
    """Imports from a part of the package into a part it must not depend on (see ``FORBIDDEN``), except the
    ``(module, imported module)`` pairs in ``allowed``."""
    problems = []
    for edge in import_edges(modules, package):
        source, target = _part(edge.source), _part(edge.target)
        if target in forbidden.get(source, frozenset()) and (edge.source, edge.target) not in (allowed or {}):
            problems.append(
                f"{edge.source}:{edge.line} imports {edge.target} ({source} must not depend on {target})"
            )
    return problems


# ------------------------------------------------------------------------------------------- accord itself
@pytest.fixture(scope="module")
def accord_modules() -> dict[str, Module]:
    return load_package(SRC, PACKAGE)


def test_the_walk_sees_the_whole_package(accord_modules: dict[str, Module]) -> None:
    graph = import_graph(accord_modules, PACKAGE)
    assert {"accord", "accord.models.dawid_skene", "accord._kernel.em", "accord.io"} <= set(graph)
    assert "accord._kernel.em" in graph["accord.consensus"]  # an import inside a method
    assert "accord.io" in graph["accord"]  # ``from . import io``


def _allowed(cycle: list[str]) -> bool:
    return any(set(cycle) <= allowed for allowed in CYCLES_ALLOWED)


def test_no_import_cycles(accord_modules: dict[str, Module]) -> None:
    found = [c for c in cycles(import_graph(accord_modules, PACKAGE)) if not _allowed(c)]
    assert not found, "import cycles (counting imports inside functions):\n" + "\n".join(
        " <-> ".join(c) for c in found
    )


def test_cycle_allow_list_is_not_stale(accord_modules: dict[str, Module]) -> None:
    found = cycles(import_graph(accord_modules, PACKAGE))
    stale = [reason for allowed, reason in CYCLES_ALLOWED.items() if not any(set(c) & allowed for c in found)]
    assert not stale, f"these cycles are gone; remove them from CYCLES_ALLOWED: {stale}"


def test_files_are_read_in_io_only(accord_modules: dict[str, Module]) -> None:
    problems = reading_outside_io(accord_modules, PACKAGE, READING_ALLOWED)
    assert not problems, "file reading outside accord.io:\n" + "\n".join(problems)


def test_reading_allow_list_is_not_stale(accord_modules: dict[str, Module]) -> None:
    stale = [name for name in READING_ALLOWED if not list(reading_calls(accord_modules[name]))]
    assert not stale, f"these modules no longer read files; remove them from READING_ALLOWED: {stale}"


def test_no_private_or_cross_model_helper_imports(accord_modules: dict[str, Module]) -> None:
    problems = private_imports(accord_modules, PACKAGE)
    assert not problems, "\n".join(problems)


def test_arrows_point_down(accord_modules: dict[str, Module]) -> None:
    problems = upward_imports(accord_modules, PACKAGE, FORBIDDEN, LAYERING_ALLOWED)
    assert not problems, "imports against the layering:\n" + "\n".join(problems)


def test_layering_allow_list_is_not_stale(accord_modules: dict[str, Module]) -> None:
    edges = {(e.source, e.target) for e in import_edges(accord_modules, PACKAGE)}
    stale = [reason for pair, reason in LAYERING_ALLOWED.items() if pair not in edges]
    assert not stale, f"these imports are gone; remove them from LAYERING_ALLOWED: {stale}"


# ---------------------------------------------------------------------------------- the checks can fail
def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_package(tmp_path, "pkg")


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .b import f\n",
            "b.py": "def f():\n    from pkg.c import g\n    return g\n",
            "c.py": "from . import a\n",
            "d.py": "import pkg.b\n",
        },
    )
    assert cycles(import_graph(modules, "pkg")) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_a_cycle_through_a_package_init_is_found(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "__init__.py": "",
            "area/__init__.py": "from .x import run\n",
            "area/x.py": "from ..low import helper\n\ndef run():\n    return helper()\n",
            "low.py": "def helper():\n    from .area.x import run\n    return run\n",
            "other/__init__.py": "",
            "other/y.py": "from ..area.x import run\n",
        },
    )
    found = cycles(import_graph(modules, "pkg"))
    assert found == [["pkg.area", "pkg.area.x", "pkg.low"]]  # importing pkg.area.x runs pkg/area/__init__
    assert "pkg.area" in import_graph(modules, "pkg")["pkg.other.y"]  # the package __init__ runs too


def test_reading_outside_io_is_found_and_writing_is_not(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "__init__.py": "",
            "io/__init__.py": "import pandas as pd\n\ndef read(p):\n    return pd.read_csv(p)\n",
            "tables.py": """
                import json
                from pathlib import Path
                import numpy as np
                import pandas as pd

                def load(p):
                    a = pd.read_parquet(p)
                    b = np.load(p)
                    c = Path(p).read_text()
                    with open(p) as f:
                        d = json.load(f)
                    with Path(p).open() as f:
                        e = f.read()
                    return a, b, c, d, e

                def save(p, text):
                    Path(p).write_text(text)
                    with open(p, "w") as f:
                        f.write(text)
                    with Path(p).open(mode="a") as f:
                        f.write(text)
                    return json.loads(text)
            """,
        },
    )
    problems = reading_outside_io(modules, "pkg", {})
    assert len(problems) == 6 and all("pkg.tables" in p for p in problems)
    assert reading_outside_io(modules, "pkg", {"pkg.tables": "a reason"}) == []


def test_cross_model_helpers_and_private_names_are_found(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "__init__.py": "",
            "models/__init__.py": "from .ds import DS\n",
            "models/_base.py": "class Base:\n    pass\n\ndef as_input(x):\n    return x\n",
            "models/ds.py": "from ._base import Base, as_input\nclass DS(Base): ...\ndef shares(c): ...\n",
            "models/glad.py": "from ._base import Base\nfrom .ds import DS, shares\n\nclass GLAD(DS): ...\n",
            "models/mace.py": "from .ds import DS\nfrom .glad import GLAD\n\nclass MACE(GLAD):\n    pass\n",
            "models/mv.py": "def f():\n    from .ds import _private\n    return _private\n",
            "report.py": "from .models.ds import _secret\n",
        },
    )
    problems = private_imports(modules, "pkg")
    assert len(problems) == 3
    assert any("pkg.models.glad" in p and "['shares']" in p for p in problems)
    assert any("pkg.models.mv" in p and "_private" in p for p in problems)
    assert any("pkg.report" in p and "_secret" in p for p in problems)


def test_an_upward_import_is_found(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "__init__.py": "",
            "_kernel/__init__.py": "",
            "_kernel/votes.py": "def shares():\n    from ..models.mv import MV\n    return MV\n",
            "models/__init__.py": "",
            "models/mv.py": "from .._kernel.votes import shares\nclass MV: ...\n",
            "cli.py": "from .models.mv import MV\n",
        },
    )
    problems = upward_imports(
        modules, "pkg", {"_kernel": frozenset({"models"}), "models": frozenset({"cli"})}
    )
    assert len(problems) == 1 and "pkg._kernel.votes:2 imports pkg.models.mv" in problems[0]


# --- lazy public names: ``import accord`` and the command line import only what they use --------------------


@pytest.mark.parametrize("package", ["accord", "accord.models"])
def test_every_public_name_resolves_and_is_listed(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)  # imports the name's module
        assert getattr(value, "__name__", name).rsplit(".", 1)[-1] == name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018


def test_import_accord_and_the_cli_parser_stay_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, accord; light = sorted(m for m in ('numpy', 'pandas', 'scipy') if m in sys.modules);"
        "from accord.cli import build_parser; build_parser();"
        "heavy = sorted(m for m in ('scipy.optimize', 'jax', 'sklearn', 'accord.models.lia',"
        " 'accord.models.label_model', 'accord.models.auto') if m in sys.modules); print(light, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"


def test_registry_resolves_every_method_and_refuses_a_taken_name() -> None:
    from accord.errors import InvalidParameterError
    from accord.models import Aggregator, DawidSkene
    from accord.models.registry import METHODS, register

    assert list(METHODS)[:4] == ["mv", "wawa", "zbs", "ds"] and {"auto", "vote", "lia"} <= set(METHODS)
    for name in METHODS:
        assert issubclass(METHODS[name], Aggregator)
    register("ds", DawidSkene)  # the same class again is fine
    with pytest.raises(InvalidParameterError, match="already taken by DawidSkene"):
        register("ds", Aggregator)


def test_submodules_stay_reachable_as_attributes() -> None:
    import subprocess
    import sys

    code = (
        "import accord; print(accord.errors.AccordError.__name__, accord.models.lia.LIA.__name__,"
        " accord.models.dawid_skene.DawidSkene.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["AccordError", "LIA", "DawidSkene"]
