"""The architecture rules that the import contracts (`lint-imports`) and ruff's SLF rule
do not cover: no module imports another's private names, and the engine's modules and
classes stay small enough to read (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("src", "tests", "bench") for p in (ROOT / d).rglob("*.py")]
MODULE_LINES, CLASS_LINES = 500, 300


def private_imports(tree: ast.AST) -> list[str]:
    return [
        f"{node.module}.{a.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("moviecdc", "tests"))
        for a in node.names
        if a.name.startswith("_") and not a.name.startswith("__")
    ]


def test_no_module_imports_private_names_of_another() -> None:
    found = {str(p.relative_to(ROOT)): private_imports(ast.parse(p.read_text())) for p in SOURCES}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_rule_sees_a_private_import() -> None:
    assert private_imports(ast.parse("from moviecdc.emulator.ivm.syntax import _hidden, SIGN")) == [
        "moviecdc.emulator.ivm.syntax._hidden"
    ]


def test_engine_modules_and_classes_stay_small() -> None:
    too_big = []
    for path in (ROOT / "src" / "moviecdc" / "emulator").rglob("*.py"):
        text = path.read_text()
        name = str(path.relative_to(ROOT))
        if len(text.splitlines()) > MODULE_LINES:
            too_big.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno and node.end_lineno - node.lineno >= CLASS_LINES:
                too_big.append(f"{name}: class {node.name}, {node.end_lineno - node.lineno + 1} lines")
    assert too_big == []
