"""The fakes stay out of the product, and their two packages keep one shape.

The gateway must run in production without the fakes or the scenarios on the
path; only ``gateway demo`` may start them. Imports hide in functions (the
demo's lazy ones did), so the check walks every node of every module, not just
its top.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "gateway"
DEMO = GATEWAY / "demo"
FAKES = ROOT / "fakes"
TEST_ONLY = frozenset({"fakes", "scenarios"})

PARALLEL_MODULES = ("model", "errors", "state", "fake", "api", "control", "app")
MAX_LINES = 400
WHOLE_ON_PURPOSE = frozenset({"faults.py", "jira/jql.py"})
"""A tokenizer, parser and evaluator; a fault plane and its transport: splits would hurt."""


def imported_modules(source: str) -> Iterator[str]:
    """Every absolute module an import statement or ``import_module("...")`` names."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        elif isinstance(node, ast.Call) and _is_import_call(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield first.value


def _is_import_call(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in ("import_module", "__import__")


def production_modules() -> list[Path]:
    return [p for p in sorted(GATEWAY.rglob("*.py")) if DEMO not in p.parents]


def test_the_check_sees_imports_anywhere_in_a_module() -> None:
    source = (
        "import fakes.jira\n"
        "def start():\n"
        "    from scenarios.harness import Harness\n"
        "    class Later:\n"
        "        def load(self):\n"
        "            return importlib.import_module('fakes.peopleforce')\n"
        "from . import sibling\n"
    )
    assert list(imported_modules(source)) == [
        "fakes.jira",
        "scenarios.harness",
        "fakes.peopleforce",
    ]


def test_production_code_imports_neither_fakes_nor_scenarios() -> None:
    modules = production_modules()
    assert GATEWAY / "worker.py" in modules and not any(DEMO in p.parents for p in modules)
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules
        for name in imported_modules(path.read_text(encoding="utf-8"))
        if name.split(".")[0] in TEST_ONLY
    ]
    assert offenders == []


def test_the_demo_is_where_the_product_meets_the_fakes() -> None:
    demo_imports = {
        name.split(".")[0]
        for path in DEMO.rglob("*.py")
        for name in imported_modules(path.read_text(encoding="utf-8"))
    }
    assert "fakes" in demo_imports


@pytest.mark.parametrize("package", ["jira", "peopleforce"])
def test_both_fakes_have_the_same_modules(package: str) -> None:
    for module in PARALLEL_MODULES:
        assert (FAKES / package / f"{module}.py").is_file(), f"fakes/{package}/{module}.py"


@pytest.mark.parametrize(
    ("package", "name", "module"),
    [
        ("jira", "FakeJira", "fake"),
        ("jira", "JiraSite", "state"),
        ("jira", "JiraCatalog", "catalog"),
        ("jira", "JiraError", "errors"),
        ("jira", "create_jira_app", "app"),
        ("peopleforce", "FakePeopleForce", "fake"),
        ("peopleforce", "PeopleForceAccount", "state"),
        ("peopleforce", "PeopleForceError", "errors"),
        ("peopleforce", "create_peopleforce_app", "app"),
    ],
)
def test_each_public_name_lives_in_the_module_named_for_it(
    package: str, name: str, module: str
) -> None:
    exported = getattr(importlib.import_module(f"fakes.{package}"), name)
    assert exported.__module__ == f"fakes.{package}.{module}"


@pytest.mark.parametrize("package", ["fakes", "fakes.jira", "fakes.peopleforce"])
def test_every_re_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__, package
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_no_flat_fake_modules_are_left() -> None:
    leftovers = [p.name for p in FAKES.glob("jira_*.py")]
    leftovers += [p.name for p in (FAKES / "peopleforce.py", FAKES / "jql.py") if p.exists()]
    assert leftovers == []


def test_fake_modules_stay_small() -> None:
    too_long = {
        str(path.relative_to(FAKES)): lines
        for path in sorted(FAKES.rglob("*.py"))
        if str(path.relative_to(FAKES)) not in WHOLE_ON_PURPOSE
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}
