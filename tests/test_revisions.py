"""The scripted way to change the rule, db/new_revision.py: the next revision made from db/functions/
(tried on a copy of the checkout, up, down and up again), the manifest guarding the released revisions,
and the generated map db/functions/README.md."""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

from tests.support import ROOT, assert_installs_exactly, project_objects


def load_tool() -> ModuleType:
    """db/new_revision.py as a module (it is a script of the checkout, not part of the package)."""
    spec = importlib.util.spec_from_file_location("new_revision", ROOT / "db" / "new_revision.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what the tool and the migrations read: the package, db/, alembic.ini, pyproject.toml."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in ("astegni", "db"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("alembic.ini", "pyproject.toml"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


def run(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command in the copy, on the copy's package: the tool (python db/new_revision.py ...) unless the
    arguments start with -c or -m."""
    command = [sys.executable, *args] if args[0] in ("-c", "-m") else [
        sys.executable, str(checkout / "db" / "new_revision.py"), *args]
    return subprocess.run(command, cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)},
                          capture_output=True, text=True, timeout=300)


def migrate_copy(checkout: Path, url: str, action: str, revision: str) -> None:
    """Upgrades or downgrades the database at `url` with the copy's migrations."""
    done = run(checkout, "-c", "import sys, astegni.migrations as m; getattr(m, sys.argv[1])(*sys.argv[2:])",
               action, url, revision)
    assert done.returncode == 0, done.stderr


def objects(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return project_objects(conn)


def newest(root: Path) -> str:
    return str(tool.revisions(root)[-1][0])


# ---- the manifest -------------------------------------------------------------------------------


def test_released_revisions_match_the_manifest():
    """The rule: the files of a revision listed in db/migrations/MANIFEST.sha256 (its versions/NNNN_*.py
    and every file under sql/NNNN/) are never edited, added or removed; a change is a new revision.
    db/new_revision.py lists each revision it makes, and its --redo rewrites the newest revision's lines,
    which is allowed only until that revision is released (has landed for others to build on). Every
    revision but the newest is listed; the newest may be missing, as a hand-written placeholder the
    script will replace is. The released 0001-0003 are listed."""
    assert tool.manifest_problems(ROOT) == []
    assert {"0001", "0002", "0003"} <= tool.read_manifest(ROOT).keys()


def test_the_manifest_names_each_file_edited_added_or_removed(checkout):
    sql = checkout / "db" / "migrations" / "sql"
    (sql / "0002" / "up.sql").write_text((sql / "0002" / "up.sql").read_text() + "\n-- one more line\n")
    (sql / "0003" / "functions" / "astegni_extra.sql").write_text("-- new\n")
    (sql / "0001" / "down.sql").unlink()
    assert tool.manifest_problems(checkout) == [
        "db/migrations/sql/0001/down.sql: removed from released revision 0001",
        "db/migrations/sql/0002/up.sql: edited, but revision 0002 is released",
        "db/migrations/sql/0003/functions/astegni_extra.sql: added to released revision 0003",
    ]
    manifest = tool.read_manifest(checkout)
    del manifest["0002"]
    tool.write_manifest(checkout, manifest)
    assert any(problem.startswith("revision 0002 is not in db/migrations/MANIFEST.sha256, yet 0003 follows")
               for problem in tool.manifest_problems(checkout))


# ---- making a revision --------------------------------------------------------------------------

# A routine changed into a procedure (as an extension entry point may become one) and a new last
# argument with a default: both must drop the old routine first.
PROCEDURE = """-- Refills time_zone_names from pg_timezone_names (a procedure now).
CREATE OR REPLACE PROCEDURE public.astegni_refresh_time_zones()
LANGUAGE sql
SET search_path = pg_catalog, public, pg_temp
AS $$
DELETE FROM public.time_zone_names;
INSERT INTO public.time_zone_names (name) SELECT name FROM pg_timezone_names;
$$;
"""
NEW_ARGUMENT = """-- ISO weekday (1 = Monday) of a date, shifted by p_shift days.
CREATE OR REPLACE FUNCTION public.astegni_isodow(p_date date, p_shift integer DEFAULT 0)
RETURNS integer
LANGUAGE sql
IMMUTABLE
AS $$
SELECT ((p_date - date '0001-01-01' + p_shift) % 7 + 1)::integer
$$;
"""
NEW_FUNCTION = """-- Trigger function (AFTER INSERT on sessions, per statement): does nothing yet.
CREATE OR REPLACE FUNCTION public.astegni_on_session_insert()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN NULL;
END
$$;
"""
NEW_TRIGGER = """-- Each statement inserting sessions runs astegni_on_session_insert.
CREATE OR REPLACE TRIGGER sessions_inserted
AFTER INSERT ON public.sessions
FOR EACH STATEMENT
EXECUTE FUNCTION public.astegni_on_session_insert();
"""
EXPECTED = {
    "REPLACED": ["astegni_month.sql"],
    "RESIGNED": ["astegni_isodow.sql", "astegni_refresh_time_zones.sql"],
    "ADDED": ["astegni_on_session_insert.sql", "trigger_sessions_inserted.sql"],
    # A trigger and its function, whose copies are 0003's.
    "DROPPED": ["astegni_on_time_off.sql", "trigger_tutor_time_off_write.sql"],
}


def change_the_rule(functions: Path) -> None:
    """One of each change: a new body (astegni_month, whose copy is 0002's), two new signatures, two
    new files, two removed."""
    month = functions / "astegni_month.sql"
    assert "AS $$\n" in month.read_text()
    month.write_text(month.read_text().replace("AS $$\n", "AS $$\n-- A body changed by the test.\n", 1))
    (functions / "astegni_refresh_time_zones.sql").write_text(PROCEDURE)
    (functions / "astegni_isodow.sql").write_text(NEW_ARGUMENT)
    (functions / "astegni_on_session_insert.sql").write_text(NEW_FUNCTION)
    (functions / "trigger_sessions_inserted.sql").write_text(NEW_TRIGGER)
    (functions / "astegni_on_time_off.sql").unlink()
    (functions / "trigger_tutor_time_off_write.sql").unlink()


def test_a_new_revision_goes_up_down_and_up_again(checkout, empty_db_url):
    """The tool writes the revision the changes need, and its migrations bring db/functions/ to the
    database exactly, then put back exactly what the revision before installed (each object's
    pg_get_functiondef or pg_get_triggerdef), and install it again."""
    assert run(checkout, "--redo", "The head, as the tool makes it").returncode == 0
    head = newest(checkout)
    new = f"{int(head) + 1:04d}"
    functions = checkout / "db" / "functions"
    change_the_rule(functions)

    made = run(checkout, "Probe one change of each kind")
    assert made.returncode == 0, made.stderr
    assert "re-signed (dropped first):  astegni_isodow.sql, astegni_refresh_time_zones.sql" in made.stdout
    [versions_file] = (checkout / "db" / "migrations" / "versions").glob(f"{new}_*.py")
    assert versions_file.name == f"{new}_probe_one_change_of_each_kind.py"
    assert {name: tool.listed(versions_file, name) for name in EXPECTED} == EXPECTED
    assert ast.get_docstring(ast.parse(versions_file.read_text())).startswith("Probe one change of each kind")
    sql = checkout / "db" / "migrations" / "sql" / new
    copies = sorted(EXPECTED["REPLACED"] + EXPECTED["RESIGNED"] + EXPECTED["ADDED"])
    assert sorted(path.name for path in (sql / "functions").iterdir()) == copies
    for name in copies:
        assert (sql / "functions" / name).read_bytes() == (functions / name).read_bytes()
    for name in ("up.sql", "down.sql", "roles.sql"):
        assert (sql / name).read_text().startswith(f"-- Revision {new}")
    assert tool.manifest_problems(checkout) == []
    assert set(tool.read_manifest(checkout)[new]) == set(tool.revision_files(checkout, new))
    lint = run(checkout, "-m", "ruff", "check", "--no-cache", str(versions_file))
    assert lint.returncode == 0, lint.stdout

    migrate_copy(checkout, empty_db_url, "upgrade", head)
    before = objects(empty_db_url)
    migrate_copy(checkout, empty_db_url, "upgrade", new)
    assert_installs_exactly(empty_db_url, functions)
    after = objects(empty_db_url)
    assert before.keys() - after.keys() == {"function astegni_on_time_off", "trigger tutor_time_off_write"}
    assert after.keys() - before.keys() == {"function astegni_on_session_insert", "trigger sessions_inserted"}
    assert {name for name in before.keys() & after.keys() if before[name] != after[name]} == {
        "function astegni_month", "function astegni_isodow", "function astegni_refresh_time_zones"}
    migrate_copy(checkout, empty_db_url, "downgrade", head)
    assert objects(empty_db_url) == before
    migrate_copy(checkout, empty_db_url, "upgrade", new)
    assert objects(empty_db_url) == after


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "db").rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def test_redo_rewrites_the_newest_revision_alone_and_keeps_its_hand_written_sql(checkout):
    head = newest(checkout)
    sql = checkout / "db" / "migrations" / "sql" / head
    hand_written = {name: (sql / name).read_bytes() for name in ("up.sql", "down.sql", "roles.sql")
                    if (sql / name).is_file()}
    released = {revision: lines for revision, lines in tool.read_manifest(checkout).items()
                if revision != head}
    assert run(checkout, "--redo", "The head, as the tool makes it").returncode == 0
    assert {name: (sql / name).read_bytes() for name in hand_written} == hand_written
    manifest = tool.read_manifest(checkout)
    assert manifest == {**released, head: tool.revision_files(checkout, head)}

    # Again, with nothing changed: the same files, the description read back from the docstring.
    first = tree(checkout)
    again = run(checkout, "--redo")
    assert again.returncode == 0, again.stderr
    assert tree(checkout) == first

    # A head missing from the manifest (a hand-written placeholder) is regenerated, never revised.
    del manifest[head]
    tool.write_manifest(checkout, manifest)
    refused = run(checkout, "On top of a placeholder")
    assert refused.returncode == 1
    assert f"revision {head} is not in db/migrations/MANIFEST.sha256" in refused.stderr
    assert "--redo" in refused.stderr


def test_help_explains_the_modes(checkout):
    shown = run(checkout, "--help")
    assert shown.returncode == 0
    for part in ("--redo", "--map", "--check", "MANIFEST.sha256", "up.sql", "PROCEDURE"):
        assert part in shown.stdout


# ---- the map ------------------------------------------------------------------------------------


def test_the_functions_map_is_current():
    committed = (ROOT / tool.FUNCTIONS_MAP).read_text()
    assert committed == tool.functions_map(ROOT), f"run python {tool.TOOL} --map to regenerate it"


def test_the_map_shows_the_entry_points_a_client_calls():
    """The functions README.md and docs/ tell clients to call are public; what they call is internal."""
    objects = tool.read_rule(ROOT)
    public, internal, callers = tool.classify(objects)
    assert {"astegni_accept", "astegni_cancel", "astegni_reject", "preview_sessions", "astegni_end_series",
            "astegni_reschedule", "preview_reschedule", "astegni_extend_series",
            "astegni_extend_series_at"} <= set(public)
    assert {"astegni_apply_acceptance", "astegni_accept_requests", "astegni_raise",
            "astegni_on_request_statement"} <= set(internal)
    assert callers["astegni_on_request_statement"] == ["trigger requested_sessions_rule"]
    text = tool.functions_map(ROOT)
    for name in objects:
        assert f"`{name}" in text


def test_the_map_follows_new_files_and_procedures(checkout):
    change_the_rule(checkout / "db" / "functions")
    assert run(checkout, "--map").returncode == 0
    text = (checkout / tool.FUNCTIONS_MAP).read_text()
    assert "### `astegni_refresh_time_zones()` (procedure)" in text
    assert ("| `astegni_isodow` | ISO weekday (1 = Monday) of a date, shifted by p_shift days."
            " | `astegni_occurrences` |") in text
    assert ("| `sessions_inserted` | sessions | AFTER | INSERT | statement"
            " | `astegni_on_session_insert` |") in text
    assert ("| `astegni_on_session_insert` | Trigger function (AFTER INSERT on sessions, per statement):"
            " does nothing yet. | `trigger sessions_inserted` |") in text
    assert "`astegni_on_time_off`" not in text
    assert run(checkout, "--check").returncode == 0
