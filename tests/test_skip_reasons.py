"""The skip reasons are one constant, astegni.SKIP_REASONS: what skipped_occurrences.reason's CHECK
allows, what the result types' docstrings point at, and what every list of them in the docs names."""

from __future__ import annotations

import ast
import re

import astegni
from astegni.models import SkippedOccurrence
from tests.support import ROOT, scalar

REASON_CHECK = """
SELECT pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'skipped_occurrences'::regclass AND conname = 'skipped_occurrences_reason_check'
"""


def test_the_skip_reasons_are_what_the_database_allows(conn):
    assert re.findall(r"'(\w+)'::text", scalar(conn, REASON_CHECK)) == list(astegni.SKIP_REASONS)
    [check] = [c for c in SkippedOccurrence.__table__.constraints
               if c.name == "skipped_occurrences_reason_check"]
    assert re.findall(r"'(\w+)'", str(check.sqltext)) == list(astegni.SKIP_REASONS)


def test_the_result_types_point_at_them():
    for cls in (astegni.Skipped, astegni.PreviewRow, astegni.RescheduleRow):
        assert "SKIP_REASONS" in (cls.__doc__ or ""), cls


def texts() -> list[tuple[str, str]]:
    """(where, text) of each paragraph of the docs and each docstring of the package."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        found += [(path.name, paragraph) for paragraph in path.read_text().split("\n\n")]
    for path in sorted((ROOT / "astegni").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                name = getattr(node, "name", "the module")
                found.append((f"{path.name}: {name}", ast.get_docstring(node) or ""))
    return found


def test_every_list_of_them_names_them_all():
    """A paragraph or docstring that names three skip reasons or more is a list of them: it names all."""
    reasons = set(astegni.SKIP_REASONS)
    lists = 0
    for where, text in texts():
        named = set(re.findall(r"\b(\w+)\b", text)) & reasons
        if len(named) >= 3:
            lists += 1
            assert named == reasons, f"{where} leaves out {sorted(reasons - named)}:\n{text}"
    assert lists >= 4  # README, psql.md, series.md twice
