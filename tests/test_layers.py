"""The import rules of DESIGN.md, read from the source with `ast` (imports inside functions included).

`bounds` imports neither `simulate` nor `verify`; `simulate` does not import `verify`; `verify` does
not import `report`; only the CLI (`mamltheory.cli`, `*.command`) imports a command module or the CLI;
no private name (leading underscore) is imported or used across packages; no import cycles.
Edges: `import a.b.c` is an edge to module a.b.c; `from a.b import c` is an edge to a.b.c when that is
a module, else to a.b (a package's __init__ re-export is an edge to the package).
`bounds`, `verify` and `report` do not use `importlib` or `__import__`: every edge is a plain import the rules
above see (the CLI's lazy loading and the loader of a user's factory file live outside them). `verify` computes
nothing at import (`import_time_computation`).
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import importlib
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parent.parent / "mamltheory"


def modules_under(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package at `root`."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = modules_under(ROOT)


def package_of(module: str, modules: dict[str, Path] = MODULES) -> str:
    """The package a module belongs to: mamltheory.simulate.config -> mamltheory.simulate (a package's
    __init__ belongs to itself); top-level modules belong to mamltheory."""
    if modules[module].name == "__init__.py":
        return module
    return module.rsplit(".", 1)[0]


def is_cli(module: str) -> bool:
    return module == "mamltheory.cli" or module.rsplit(".", 1)[-1] in ("command", "__main__")


def resolve(module: str, node: ast.ImportFrom, modules: dict[str, Path]) -> str:
    if not node.level:
        return node.module or ""
    base = package_of(module, modules).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str, modules: dict[str, Path] = MODULES) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in `module`, at any depth."""
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            src = resolve(module, node, modules)
            for a in node.names:
                sub = f"{src}.{a.name}"
                out.append((sub, None, node.lineno) if sub in modules else (src, a.name, node.lineno))
    return out


def private_attribute_uses(module: str, modules: dict[str, Path]) -> list[tuple[str, str, int]]:
    """(module, name, line) for `m._name` where m is bound to a module by an import."""
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and a.name in modules:
                    bound[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            src = resolve(module, node, modules)
            for a in node.names:
                if f"{src}.{a.name}" in modules:
                    bound[a.asname or a.name] = f"{src}.{a.name}"
    return [(bound[n.value.id], n.attr, n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in bound
            and n.attr.startswith("_") and not n.attr.startswith("__")]


def graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {m: {t for t, _, _ in imports(m, modules) if t in modules and t != m} for m in modules}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


PLAIN_IMPORTS_ONLY = ("mamltheory.bounds", "mamltheory.verify", "mamltheory.report")


def dynamic_imports(module: str, modules: dict[str, Path] = MODULES) -> list[int]:
    """Lines of `module` that import `importlib`, or call `__import__`: imports the graph above cannot see."""
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "importlib" for a in node.names) \
                or isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "importlib" \
                or isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            out.append(node.lineno)
    return out


FORBIDDEN = [("mamltheory.bounds", "mamltheory.simulate"), ("mamltheory.bounds", "mamltheory.verify"),
             ("mamltheory.simulate", "mamltheory.verify"), ("mamltheory.verify", "mamltheory.report")]


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(modules: dict[str, Path] = MODULES) -> list[str]:
    """Every broken rule, one line each (file:line: what)."""
    out: list[str] = []
    root = next(iter(modules.values())).parent
    while (root.parent / "__init__.py").exists():
        root = root.parent
    for m in modules:
        where = f"{modules[m].relative_to(root.parent)}"
        for target, name, line in imports(m, modules):
            if not within(target, "mamltheory"):
                continue
            for src, dst in FORBIDDEN:
                if within(m, src) and within(target, dst):
                    out.append(f"{where}:{line}: {src} must not import {dst} (imports {target})")
            if not is_cli(m) and target in modules and is_cli(target):
                out.append(f"{where}:{line}: library module imports the CLI module {target}")
            if name and name.startswith("_") and not name.startswith("__") and target in modules \
                    and package_of(target, modules) != package_of(m, modules):
                out.append(f"{where}:{line}: private name {name} imported from {target} (another package)")
        for target, name, line in private_attribute_uses(m, modules):
            if package_of(target, modules) != package_of(m, modules):
                out.append(f"{where}:{line}: private name {name} of {target} used from another package")
        if any(within(m, layer) for layer in PLAIN_IMPORTS_ONLY):
            out += [f"{where}:{line}: importlib or __import__ (use a plain import)" for line in dynamic_imports(m, modules)]
    out += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph(modules))]
    return out


# ---- import-time computation ------------------------------------------------------------------------------------
# A module of `verify` only declares at import: what it computes runs when a check is asked for, so importing it (a
# worker process, the CLI, a test) costs nothing and changes nothing. A module-level statement may be an import, a
# def, a class, a docstring, or an assignment to plain names (or the callable package's `sys.modules[__name__].
# __class__`) whose value is a declaration: a literal, a name, an attribute, a subscript (a type), operators,
# tuple/list/set/dict displays and lambdas of declarations, or a call of a class whose instances are immutable (a
# frozen dataclass such as a table row, a number, a string, a tuple, a sympy object) with declarations as arguments.
# Anything else (a call of a function, a comprehension, an f-string, a loop, a condition, a bare expression, an
# assignment into another object) is computation or a side effect at import.
IMMUTABLE = (numbers.Number, str, bytes, tuple, frozenset, sp.Basic)
CALLABLE_PACKAGE = "sys.modules[__name__].__class__"


def immutable_class(obj: Any) -> bool:
    """A class whose instances cannot change: a frozen dataclass, or a subclass of IMMUTABLE."""
    if not isinstance(obj, type):
        return False
    if dataclasses.is_dataclass(obj):
        return bool(obj.__dataclass_params__.frozen)  # type: ignore[attr-defined]
    return issubclass(obj, IMMUTABLE)


def resolve_callee(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """The object a callee `a.b.c` names in `namespace` (then builtins); None when it is not a dotted name."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id, getattr(builtins, node.id, None))
    if isinstance(node, ast.Attribute):
        base = resolve_callee(node.value, namespace)
        return None if base is None else getattr(base, node.attr, None)
    return None


def undeclared(expr: ast.expr | None, namespace: dict[str, Any]) -> list[ast.AST]:
    """The parts of `expr` that compute: not a declaration (see above)."""
    if expr is None or isinstance(expr, (ast.Constant, ast.Name, ast.Lambda)):
        return []
    if isinstance(expr, ast.Attribute):
        return undeclared(expr.value, namespace)
    if isinstance(expr, ast.Call):
        own = [] if immutable_class(resolve_callee(expr.func, namespace)) else [expr]
        return own + [n for a in (*expr.args, *(k.value for k in expr.keywords)) for n in undeclared(a, namespace)]
    parts: dict[type, tuple[str, ...]] = {
        ast.Subscript: ("value", "slice"), ast.BinOp: ("left", "right"), ast.UnaryOp: ("operand",),
        ast.Tuple: ("elts",), ast.List: ("elts",), ast.Set: ("elts",), ast.Dict: ("keys", "values"),
        ast.Starred: ("value",)}
    if type(expr) not in parts:
        return [expr]
    out: list[ast.AST] = []
    for name in parts[type(expr)]:
        value = getattr(expr, name)
        for child in value if isinstance(value, list) else [value]:
            out += undeclared(child, namespace)
    return out


def import_time_computation(tree: ast.Module, namespace: dict[str, Any]) -> list[int]:
    """Lines of the module-level statements of `tree` that compute or act at import (the rule above); `namespace`
    is the imported module's, to tell a class from a function."""
    out = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                or isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.Assign):
            names = all(isinstance(t, ast.Name) or isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name)
                                                                                  for e in t.elts)
                        or ast.unparse(t) == CALLABLE_PACKAGE for t in node.targets)
            if names and not undeclared(node.value, namespace):
                continue
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if not undeclared(node.value, namespace):
                continue
        out.append(node.lineno)
    return out


def test_verify_computes_nothing_at_import() -> None:
    found = []
    for m, path in MODULES.items():
        if within(m, "mamltheory.verify"):
            namespace = vars(importlib.import_module(m))
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [f"{path.relative_to(ROOT.parent)}:{line}" for line in import_time_computation(tree, namespace)]
    assert not found, f"module-level computation in verify: {found}"


def test_the_import_time_rule_tells_declarations_from_computation() -> None:
    @dataclasses.dataclass(frozen=True)
    class Row:
        x: Any

    @dataclasses.dataclass
    class Mutable:
        x: Any

    def helper() -> int:
        return 1

    source = """\
\"\"\"Docstring.\"\"\"
import numpy as np
A = 1e3 * 2.0**-52
B: dict[str, tuple[int, ...]] = {"x": (1, 2), **OTHER}
C = Row(x=(Row(1), -A, np.ndarray, lambda z: helper()))
D = Mutable(1)
E = np.linspace(0, 1, 5)
F = {k: k for k in "ab"}
G = Row(helper())
REGISTRY["x"] = A
helper()
H = f"{A}"
sys.modules[__name__].__class__ = Row
"""
    namespace = {"np": np, "Row": Row, "Mutable": Mutable, "helper": helper, "OTHER": {}}
    assert import_time_computation(ast.parse(source), namespace) == [6, 7, 8, 9, 10, 11, 12]


def test_the_checker_finds_each_kind_of_violation(tmp_path: Path) -> None:
    # A planted package with one violation of each rule: the checker must report every one, and nothing else.
    files = {
        "__init__.py": "",
        "cli.py": "from mamltheory.simulate import command\n",
        "bounds/__init__.py": "",
        "bounds/x.py": "def f():\n    from mamltheory.simulate import y\n",           # bounds -> simulate
        "simulate/__init__.py": "from mamltheory.simulate.y import g\n",
        "simulate/command.py": "from mamltheory.simulate.y import _helper\n",       # CLI, same package: fine
        "simulate/y.py": "import mamltheory.verify\ndef g(): pass\ndef _helper(): pass\n",  # simulate -> verify
        "verify/__init__.py": "",
        "verify/z.py": "from mamltheory.simulate.y import _helper\nfrom .w import h\n",  # private across packages
        "sweep/__init__.py": "",
        "sweep/command.py": "",
        "verify/w.py": "from mamltheory.verify import z\nfrom mamltheory.sweep import command\n"
                       "def h(): return z._p\n",                                      # cycle z <-> w; CLI import
        "report/__init__.py": "",
        "report/r.py": "from mamltheory.bounds import x as bx\nv = bx._secret\n",     # private attribute
        "report/q.py": "def load(name):\n    import importlib\n    return __import__(name)\n",  # hidden edges
    }
    for rel, text in files.items():
        path = tmp_path / "mamltheory" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    found = violations(modules_under(tmp_path / "mamltheory"))
    expected = [
        "mamltheory/bounds/x.py:2: mamltheory.bounds must not import mamltheory.simulate",
        "mamltheory/simulate/y.py:1: mamltheory.simulate must not import mamltheory.verify",
        "mamltheory/verify/z.py:1: private name _helper imported from mamltheory.simulate.y",
        "mamltheory/verify/w.py:2: library module imports the CLI module mamltheory.sweep.command",
        "mamltheory/report/r.py:2: private name _secret of mamltheory.bounds.x used from another package",
        "mamltheory/report/q.py:2: importlib or __import__",
        "mamltheory/report/q.py:3: importlib or __import__",
        "import cycle: mamltheory.verify.w -> mamltheory.verify.z",
    ]
    for e in expected:
        assert sum(f.startswith(e) for f in found) == 1, (e, found)
    assert len(found) == len(expected), found
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_import_rules(capsys: pytest.CaptureFixture[str]) -> None:
    found = violations()
    with capsys.disabled():
        for v in found:
            print(v)
    assert not found, f"{len(found)} import-rule violations (listed above)"
