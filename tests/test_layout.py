"""The layout is part of the design: these tests keep it from decaying.

DESIGN.md section 7 promises one home per concept and small rooms: a `gateway/` root
of cross-cutting modules only, no module over 400 lines, no function over 60 lines
(typer option lists and migrations excepted), and no import cycle - counting the
imports hidden inside functions, which Python tolerates at run time but which still
tie two modules into one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "gateway"
MAX_ROOT_MODULES = 16
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules(package: Path) -> Iterator[Path]:
    for path in sorted(package.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names, relative imports included."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    is_package = (ROOT / Path(*base) / "__init__.py").exists()
    anchor = base if is_package else base[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node that runs: ``if TYPE_CHECKING:`` blocks are annotations, not imports."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def import_graph(package: str = "gateway") -> dict[str, set[str]]:
    """Edges module -> imported module within ``package``, every import statement counted."""
    known = {_module_name(path) for path in _modules(ROOT / package)}
    graph: dict[str, set[str]] = {name: set() for name in known}
    for path in _modules(ROOT / package):
        name = _module_name(path)
        for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, node)
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                # `from gateway.sync import ledger` names a module; `from x import y` a symbol.
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(f"{target}."):
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path of module names, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle_in_gateway_including_function_level_imports() -> None:
    cycle = find_cycle(import_graph("gateway"))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_sees_a_cycle_hidden_inside_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_gateway_root_holds_only_cross_cutting_modules() -> None:
    root_modules = sorted(path.name for path in GATEWAY.glob("*.py"))
    assert len(root_modules) <= MAX_ROOT_MODULES, root_modules


def test_no_gateway_module_over_the_line_limit() -> None:
    big = {
        str(path.relative_to(ROOT)): n
        for path in _modules(GATEWAY)
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert big == {}, big


def _function_length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function; a typer command's option list (its signature) is not counted."""
    annotations = " ".join(ast.unparse(arg.annotation) for arg in node.args.args if arg.annotation)
    first = node.body[0].lineno if "typer." in annotations else node.lineno
    return (node.end_lineno or node.lineno) - first + 1


def test_no_gateway_function_over_the_length_limit() -> None:
    long: dict[str, int] = {}
    for path in _modules(GATEWAY):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = _function_length(node)
            if length > MAX_FUNCTION_LINES:
                long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = length
    assert long == {}, long
