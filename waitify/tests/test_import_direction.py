"""Imports run one way: businesses ← queues ← billing, analytics; waitify/lib imports no app.

The project package (settings, root URLs, /health) sits on top and may import any app. Tests
and migrations are left out: a test may build data from any app.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("businesses", "queues", "billing", "analytics")

# What each package may import, besides itself, Django and third-party packages.
ALLOWED = {
    "waitify/lib": {"waitify"},
    "businesses": {"waitify"},
    "queues": {"waitify", "businesses"},
    "billing": {"waitify", "businesses", "queues"},
    "analytics": {"waitify", "businesses", "queues"},
}


def first_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names
                     if name.split(".")[0] in (*APPS, "waitify"))
    return found


def product_modules(package: str) -> list[Path]:
    return [path for path in sorted((ROOT / package).rglob("*.py"))
            if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts)]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_apps_below_it(package):
    own = package.split("/")[0]
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported - ALLOWED[package] - {own})
        for path in product_modules(package)
        if (imported := first_party_imports(path)) - ALLOWED[package] - {own}
    }
    assert product_modules(package), f"{package} has no module: the test looks in the wrong place"
    assert wrong == {}

