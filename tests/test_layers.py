"""The architecture as a test: the domain core knows no Qt and no I/O; only the GUI knows Qt."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "custodian_app"

# Modules the domain core must not import: GUI, I/O, network, database, files, threads.
DOMAIN_FORBIDDEN = {
    "PySide6",
    "shiboken6",
    "serial",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "socket",
    "http",
    "urllib",
    "aiohttp",
    "requests",
    "reportlab",
    "subprocess",
    "threading",
    "asyncio",
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "io",
    "sqlite3",
    "select",
    "selectors",
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module)
    return mods


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", python_files(PACKAGE / "domain"), ids=lambda p: p.name)
def test_domain_core_imports_no_qt_and_no_io(path: Path) -> None:
    bad = imported_roots(path) & DOMAIN_FORBIDDEN
    assert not bad, f"{path.relative_to(PACKAGE.parent)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", python_files(PACKAGE / "domain"), ids=lambda p: p.name)
def test_domain_core_imports_only_domain_code_of_the_project(path: Path) -> None:
    ours = {m for m in imported_modules(path) if m.startswith("custodian_app")}
    allowed = {m for m in ours if m.startswith("custodian_app.domain") or m == "custodian_app.domain.errors"}
    assert ours == allowed, f"{path.name} imports {sorted(ours - allowed)}"


@pytest.mark.parametrize(
    "path",
    [p for p in python_files(PACKAGE) if "gui" not in p.relative_to(PACKAGE).parts],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_qt_is_imported_only_in_the_gui_package(path: Path) -> None:
    assert not imported_roots(path) & {"PySide6", "shiboken6"}, f"{path} imports Qt"


def test_the_checks_see_the_package() -> None:
    # Guards the parametrised tests above against silently checking nothing.
    assert len(python_files(PACKAGE / "domain")) >= 2
    assert (PACKAGE / "gui").is_dir()
