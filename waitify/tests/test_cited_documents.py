"""No comment points at a document that is not in the repository (a specification or an
issue tracker the reader of the code cannot open): the code says the rule itself.

(That imports run one way is checked by test_import_direction.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
