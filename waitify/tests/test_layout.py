"""The code's layout keeps the rules the README states.

Imports run one way: `businesses` ← `queues` ← `billing`, `analytics`; the helpers of
`waitify/lib/` import no app. And no comment points at a document that is not in the
repository (a specification or an issue tracker a reader cannot open).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# An app may import the apps of a lower rank only (and `waitify`, the project).
RANKS = {"businesses": 1, "queues": 2, "billing": 3, "analytics": 3}
SKIPPED_DIRECTORIES = {"tests", "migrations"}


def product_modules(package: str) -> list[Path]:
    return [path for path in sorted((ROOT / package).rglob("*.py"))
            if not SKIPPED_DIRECTORIES & set(path.relative_to(ROOT).parts)]


def imported_modules(path: Path) -> set[str]:
    """Every absolute import of the module, including those inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("app", sorted(RANKS))
def test_an_app_imports_only_the_apps_below_it(app):
    wrong = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in product_modules(app) for name in imported_modules(path)
        if name.split(".")[0] in RANKS and name.split(".")[0] != app
        and RANKS[name.split(".")[0]] >= RANKS[app]
    )
    assert wrong == []


def test_the_shared_helpers_import_no_app():
    wrong = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in product_modules("waitify/lib") for name in imported_modules(path)
        if name.split(".")[0] in RANKS
    )
    assert wrong == []


def test_the_checker_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from analytics.models import DailyStat\n")
    assert imported_modules(module) == {"analytics.models"}


# "SPEC §4", "STACK.md", "STYLE.md", "issue 3", "issue #12": documents outside the repository.
ABSENT_DOCUMENT = re.compile(r"\bSPEC\b(\.md| ?§)|\bST(ACK|YLE)\.md\b|\bissue #?\d+", re.I)
SOURCES = ("*.py", "*.html", "*.js", "*.css", "*.toml", "*.yml", "Makefile", "Dockerfile",
           "Caddyfile")


# The repository's own directories (not what a run leaves: staticfiles/, var/, …).
SOURCE_DIRECTORIES = ("waitify", "businesses", "queues", "billing", "analytics", "templates",
                      "static", "bench", "scripts", ".ci")


def source_files() -> list[Path]:
    found = {path for pattern in SOURCES for path in ROOT.glob(pattern)}
    for directory in SOURCE_DIRECTORIES:
        found.update(path for pattern in SOURCES for path in (ROOT / directory).rglob(pattern)
                     if "node_modules" not in path.parts)
    found.update((ROOT / ".ci").glob("*"))
    return sorted(path for path in found if path.is_file())


def test_no_comment_points_at_a_document_absent_from_the_repository():
    cited = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in source_files()
             for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
             if ABSENT_DOCUMENT.search(line) and path != Path(__file__)]
    assert cited == []


def test_the_document_check_knows_the_usual_citations():
    for line in ["# (SPEC §4.3)", "see STACK.md", '"""(issue 3, "Proof")."""', "STYLE.md"]:
        assert ABSENT_DOCUMENT.search(line), line
    for line in ["SPECTACULAR_SETTINGS", "INSPECTION", "see README.md", "tissue 3"]:
        assert not ABSENT_DOCUMENT.search(line), line
