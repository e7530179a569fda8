"""Makes the next Alembic revision of the rule from db/functions/, keeps db/migrations/MANIFEST.sha256
(the hashes of the released revisions' files) and writes db/functions/README.md (a map of the rule's
triggers and functions). `python db/new_revision.py --help` says how.

A developer's tool of the checkout, left out of the wheel (pyproject.toml). Run it in the project's
environment (`pip install -e '.[dev]'`): what a rule file creates is read by this checkout's
astegni.migrations, as the migrations themselves read it.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import itertools
import re
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This checkout's astegni, whatever else the environment has installed: its migrations read the files
# this tool writes (a worktree, a copy).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from astegni.migrations import ROUTINE, is_trigger_file, sql_object  # noqa: E402

TOOL = "db/new_revision.py"
# Paths inside the manifest are relative to db/migrations/, so that `sha256sum -c` runs there.
MANIFEST = "db/migrations/MANIFEST.sha256"
FUNCTIONS_MAP = "db/functions/README.md"
# The docstring of every revision this tool writes says so: --redo may then reuse its description.
MADE_BY = f"Made by {TOOL}"
LISTS = ("REPLACED", "RESIGNED", "ADDED", "DROPPED")
DDL_FILES = ("up.sql", "down.sql", "roles.sql")


class Refused(Exception):
    """The tool will not do what it was asked: the message says why and what to do instead."""


# ---- the checkout ---------------------------------------------------------------------------------


def functions_dir(root: Path) -> Path:
    return root / "db" / "functions"


def migrations_dir(root: Path) -> Path:
    return root / "db" / "migrations"


def frozen_dir(root: Path, revision: str) -> Path:
    return migrations_dir(root) / "sql" / revision


def revisions(root: Path) -> list[tuple[str, Path]]:
    """(number, versions file) of every revision, oldest first: versions/NNNN_<slug>.py."""
    found = []
    for path in sorted((migrations_dir(root) / "versions").glob("*.py")):
        if re.fullmatch(r"\d{4}_\w+\.py", path.name):
            found.append((path.name[:4], path))
    numbers = [number for number, _ in found]
    if numbers != [f"{n:04d}" for n in range(1, len(numbers) + 1)]:
        raise Refused(f"the revisions are not numbered 0001, 0002, ... one file each: {numbers}")
    return found


def listed(versions_file: Path, name: str) -> list[str]:
    """A revision's literal list `name` (e.g. DROPPED); none in a revision written by hand."""
    for node in ast.parse(versions_file.read_text()).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            items = ast.literal_eval(value)
            if not (isinstance(items, list) and all(isinstance(item, str) for item in items)):
                raise Refused(f"{versions_file}: {name} is not a literal list of file names")
            return items
    return []


# ---- the manifest of released revisions -----------------------------------------------------------


def revision_files(root: Path, revision: str) -> dict[str, str]:
    """The files of a revision (its versions file and everything under sql/NNNN/), by path relative to
    db/migrations/, with their SHA-256."""
    base = migrations_dir(root)
    paths = list((base / "versions").glob(f"{revision}_*.py"))
    paths += [p for p in frozen_dir(root, revision).rglob("*")
              if p.is_file() and "__pycache__" not in p.parts]
    return {p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(paths)}


def line_revision(path: str) -> str:
    """The revision a manifest path belongs to: versions/NNNN_x.py or sql/NNNN/..."""
    return path.split("/")[1][:4]


def read_manifest(root: Path) -> dict[str, dict[str, str]]:
    """The manifest as {revision: {path: sha256}}."""
    manifest = root / MANIFEST
    result: dict[str, dict[str, str]] = {}
    if manifest.is_file():
        for line in manifest.read_text().splitlines():
            digest, path = line.split("  ", 1)
            result.setdefault(line_revision(path), {})[path] = digest
    return result


def write_manifest(root: Path, manifest: dict[str, dict[str, str]]) -> None:
    lines = [f"{digest}  {path}" for revision in sorted(manifest)
             for path, digest in sorted(manifest[revision].items())]
    (root / MANIFEST).write_text("".join(f"{line}\n" for line in lines))


def manifest_problems(root: Path, *, skip: str | None = None) -> list[str]:
    """What breaks the manifest's rule (tests/test_revisions.py states it), one line per file; the
    revision `skip` (the one being remade) aside."""
    manifest = read_manifest(root)
    problems = []
    for revision, recorded in sorted(manifest.items()):
        if revision == skip:
            continue
        actual = revision_files(root, revision)
        for path in sorted(recorded.keys() | actual.keys()):
            where = f"db/migrations/{path}"
            if path not in actual:
                problems.append(f"{where}: removed from released revision {revision}")
            elif path not in recorded:
                problems.append(f"{where}: added to released revision {revision}")
            elif actual[path] != recorded[path]:
                problems.append(f"{where}: edited, but revision {revision} is released")
    numbers = [number for number, _ in revisions(root)]
    for number, later in itertools.pairwise(numbers):
        if number not in manifest and number != skip:
            problems.append(f"revision {number} is not in {MANIFEST}, yet {later} follows it: only the newest"
                            " revision may be a draft")
    return problems


# ---- what a revision changes ----------------------------------------------------------------------


def without_comments(text: str) -> str:
    """SQL without its -- comments (the rule writes no string literal holding --)."""
    return re.sub(r"--[^\n]*", "", text)


def group_end(text: str, start: int) -> int:
    """The index after the parenthesis closing the one at text[start], quotes respected."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    raise Refused(f"unbalanced parentheses in: {text[start:start + 60]!r}...")


# What may follow a routine's result type (or its arguments, when it has no RETURNS).
_OPTION = re.compile(r"(LANGUAGE|AS|SECURITY|SET|IMMUTABLE|STABLE|VOLATILE|STRICT|CALLED|PARALLEL|COST|ROWS"
                     r"|SUPPORT|WINDOW|LEAKPROOF|NOT|EXTERNAL|TRANSFORM|RETURNS|RETURN|BEGIN)\b", re.I)


@dataclass(frozen=True)
class Header:
    """What a routine's CREATE says before its options: arguments and result (whitespace collapsed)."""

    kind: str
    name: str
    arguments: str
    result: str


def routine_header(text: str) -> Header:
    code = without_comments(text)
    match = ROUTINE.search(code)
    if match is None:
        raise Refused(f"no CREATE OR REPLACE FUNCTION or PROCEDURE public.<name>( in: {text[:80]!r}")
    end = group_end(code, match.end() - 1)
    rest, parts = code[end:], []
    if returns := re.match(r"\s*RETURNS\s", rest, re.I):
        # The result: words and parenthesised groups (TABLE (...), numeric(10, 2)) up to the first option.
        i = returns.end()
        while True:
            i += len(rest[i:]) - len(rest[i:].lstrip())
            if i == len(rest) or _OPTION.match(rest, i):
                break
            j = group_end(rest, i) if rest[i] == "(" else i + len(re.split(r"[\s(]", rest[i:], maxsplit=1)[0])
            parts.append(rest[i:j])
            i = j
    return Header(match[1].lower(), match[2], " ".join(code[match.end():end - 1].split()), " ".join(parts))


def signature(text: str) -> tuple[str, ...]:
    """What CREATE OR REPLACE cannot change in place: a routine's kind, name, arguments (names, types,
    defaults: PostgreSQL refuses to rename or remove some, and other types make an overload) and result;
    a trigger's name and table. Compared case and spacing aside."""
    obj = sql_object(text)
    if obj.kind == "trigger":
        return obj.kind, obj.name, str(obj.table).lower()
    header = routine_header(text)

    def normal(fragment: str) -> str:
        return re.sub(r"\s*([(),])\s*", r"\1", fragment.lower())

    return header.kind, header.name, normal(header.arguments), normal(header.result)


def installed_at(root: Path, revision: str | None) -> dict[str, Path]:
    """Each file of the rule installed at `revision`, by name: its newest frozen copy at or below it,
    unless a revision since dropped it (its DROPPED list)."""
    installed: dict[str, Path] = {}
    for number, versions_file in revisions(root):
        if revision is None or number > revision:
            break
        for path in sorted((frozen_dir(root, number) / "functions").glob("*.sql")):
            installed[path.name] = path
        for name in listed(versions_file, "DROPPED"):
            installed.pop(name, None)
    return installed


@dataclass
class Plan:
    """A revision to write: its number, the one it revises, and what it does to each file of the rule."""

    revision: str
    previous: str | None
    replaced: list[str] = field(default_factory=list)
    resigned: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def copies(self) -> list[str]:
        """The files frozen into sql/NNNN/functions/."""
        return sorted(self.replaced + self.resigned + self.added)

    def lists(self) -> dict[str, list[str]]:
        return dict(zip(LISTS, (self.replaced, self.resigned, self.added, self.dropped), strict=True))


def rule_files(root: Path) -> dict[str, Path]:
    """The files of db/functions/, each checked to create one object of the kind its name says."""
    files = {}
    for path in sorted(functions_dir(root).glob("*.sql")):
        try:
            obj = sql_object(path.read_text())
        except ValueError as e:
            raise Refused(f"{path}: {e}") from e
        if (obj.kind == "trigger") != is_trigger_file(path.name):
            raise Refused(f"{path}: a {obj.kind}, but trigger files and only they are named trigger_*.sql")
        files[path.name] = path
    return files


def plan(root: Path, revision: str, previous: str | None) -> Plan:
    """What revision `revision` must do to bring the rule from `previous` to db/functions/."""
    before, now = installed_at(root, previous), rule_files(root)
    result = Plan(revision, previous, dropped=sorted(before.keys() - now.keys()))
    for name, path in now.items():
        old = before.get(name)
        if old is None:
            result.added.append(name)
        elif old.read_bytes() == path.read_bytes():
            continue
        elif signature(old.read_text()) != signature(path.read_text()):
            result.resigned.append(name)
        else:
            result.replaced.append(name)
    return result


# ---- writing a revision ---------------------------------------------------------------------------


def slugify(description: str) -> str:
    """A file name's slug from the description's first words."""
    words = re.findall(r"[a-z0-9]+", description.lower())
    slug = ""
    for word in words:
        if slug and len(slug) + 1 + len(word) > 30:
            break
        slug = f"{slug}_{word}" if slug else word
    if not slug:
        raise Refused(f"no slug can be made from {description!r}: give --slug")
    return slug


def summary(p: Plan) -> str:
    """What the revision installs and drops, for its docstring."""
    counts = [f"{len(names)} {what}" for names, what in (
        (p.replaced, "replaced (a new body: CREATE OR REPLACE)"),
        (p.resigned, "re-signed (a new argument list, result or kind: the old one dropped first)"),
        (p.added, "added")) if names]
    installs = f"Installs sql/{p.revision}/functions/: {', '.join(counts)}." if counts else "Installs none."
    if p.dropped:
        installs += f" Drops the objects of {len(p.dropped)} files removed from db/functions/."
    return installs


def python_list(name: str, items: list[str]) -> str:
    if not items:
        return f"{name}: list[str] = []"
    return "\n".join([f"{name}: list[str] = [", *(f'    "{item}",' for item in items), "]"])


def newest_with(root: Path, name: str, revision: str | None) -> str | None:
    """The newest revision at or below `revision` with sql/NNNN/<name>."""
    numbers = [number for number, _ in revisions(root) if revision is not None and number <= revision]
    return next((number for number in reversed(numbers) if (frozen_dir(root, number) / name).is_file()), None)


def render(root: Path, p: Plan, description: str) -> str:
    """The versions file of the revision."""
    n, previous = p.revision, p.previous
    ddl = [name for name in DDL_FILES if (frozen_dir(root, n) / name).is_file()]
    roles_before = newest_with(root, "roles.sql", previous)
    wrap = textwrap.TextWrapper(width=104, break_long_words=False, break_on_hyphens=False)
    what = (f"{MADE_BY} from db/functions/, compared with the copies installed at revision {previous} (for "
            f"each file, its newest copy under sql/NNNN/functions/ at or below it). {summary(p)}"
            if previous else f"{MADE_BY} from db/functions/. {summary(p)}")
    undo = (f"The upgrade runs sql/{n}/up.sql first and roles.sql last; the downgrade runs down.sql, drops "
            f"what this revision added or re-signed, puts back the copies installed at {previous}"
            + (f" and re-runs {roles_before}'s roles.sql, so that those put back get their grants again."
               if roles_before else "."))
    docstring = "\n\n".join([wrap.fill(description), wrap.fill(what), wrap.fill(undo),
                             f"Revision ID: {n}\nRevises: {previous or ''}"])
    upgrade = [f'    run_frozen("{n}", "up.sql")' if "up.sql" in ddl else None]
    downgrade = [f'    run_frozen("{n}", "down.sql")' if "down.sql" in ddl else None]
    if previous:
        upgrade += ["    # Before installing: the objects the new ones cannot replace in place.",
                    f'    drop_frozen("{previous}", RESIGNED + DROPPED, triggers=True)',
                    f'    drop_frozen("{previous}", RESIGNED, triggers=False)']
    upgrade += [f'    install_frozen("{n}", triggers=False)', f'    install_frozen("{n}", triggers=True)']
    if previous:
        upgrade += ["    # After the triggers: a dropped routine may be what a kept trigger ran until now.",
                    f'    drop_frozen("{previous}", DROPPED, triggers=False)']
    upgrade.append(f'    run_frozen("{n}", "roles.sql")' if "roles.sql" in ddl else None)
    downgrade += [f'    drop_frozen("{n}", ADDED + RESIGNED, triggers=True)',
                  f'    drop_frozen("{n}", RESIGNED, triggers=False)']
    if previous:
        downgrade += [f'    restore_frozen("{previous}", REPLACED + RESIGNED + DROPPED, triggers=False)',
                      f'    restore_frozen("{previous}", REPLACED + RESIGNED + DROPPED, triggers=True)']
    downgrade += ["    # After the triggers are put back: an added routine may be what a kept trigger ran.",
                  f'    drop_frozen("{n}", ADDED, triggers=False)']
    if roles_before:
        downgrade += ["    # The routines put back by DROP and CREATE lost their grants.",
                      f'    run_frozen("{roles_before}", "roles.sql")']
    lines = [*upgrade, "", "", "def downgrade() -> None:", *downgrade]
    body = "\n".join(line for line in lines if line is not None)
    used = sorted({name for name in ("drop_frozen", "install_frozen", "restore_frozen", "run_frozen")
                   if f"{name}(" in body})
    lists = p.lists()
    return f'''"""{docstring}
"""

from collections.abc import Sequence

from astegni.migrations import {", ".join(used)}

revision: str = "{n}"
down_revision: str | None = {f'"{previous}"' if previous else "None"}
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What this revision does to the files of db/functions/, found when it was made and frozen here.
# A new body, the same signature: CREATE OR REPLACE installs it over the old one.
{python_list("REPLACED", lists["REPLACED"])}
# A new argument list, result or kind (function or procedure; a trigger's table): the old object is
# dropped first, else PostgreSQL would keep both routines, as overloads.
{python_list("RESIGNED", lists["RESIGNED"])}
# New files: the downgrade drops their objects.
{python_list("ADDED", lists["ADDED"])}
# Files removed from db/functions/: the upgrade drops their objects, the downgrade puts them back.
{python_list("DROPPED", lists["DROPPED"])}


def upgrade() -> None:
{body}
'''


def ddl_template(name: str, p: Plan) -> str:
    """The header comment of an absent up.sql, down.sql or roles.sql; the developer writes the rest."""
    n, previous = p.revision, p.previous or "nothing"
    return {
        "up.sql": f"""\
-- Revision {n}, before its functions are installed: the DDL they need (tables, columns, types,
-- constraints). Only this comment when there is none.
""",
        "down.sql": f"""\
-- Revision {n} undone, back to {previous}: runs first in the downgrade, before the functions it
-- added or re-signed are dropped and the previous copies put back. Undoes up.sql. Only this comment
-- when there is nothing to undo.
""",
        "roles.sql": f"""\
-- Revision {n}: grants, after its functions are installed. A routine created anew (added, or
-- re-signed: dropped and created) can be executed by PUBLIC and by neither role: revoke and grant
-- it here (as sql/0003/roles.sql does; ON ROUTINE covers a procedure too).
""",
    }[name]


def show(label: str, names: list[str]) -> str:
    return f"  {label:<28}{', '.join(names) if names else '-'}"


def make_revision(root: Path, description: str | None, *, redo: bool = False, slug: str | None = None,
                  dry_run: bool = False, say: Callable[[str], None] = print) -> Plan:
    """Writes the next revision (or, with redo, the newest one again) and its manifest lines."""
    found = revisions(root)
    manifest = read_manifest(root)
    if description is not None and (not description.strip() or re.search(r'\n|\\|"""', description)):
        raise Refused("the description is one line of plain text (no backslash, no triple quote)")
    if redo:
        if not found:
            raise Refused("there is no revision to redo")
        revision, old_file = found[-1]
        previous = found[-2][0] if len(found) > 1 else None
        if description is None:
            docstring = ast.get_docstring(ast.parse(old_file.read_text())) or ""
            if MADE_BY not in docstring:
                raise Refused(f"{old_file.name} was not made by {TOOL}: give its description")
            description = " ".join(docstring.split("\n\n")[0].split())
        slug = slug or old_file.stem.split("_", 1)[1]
    else:
        if description is None:
            raise Refused("give the revision's description (or --redo, --map, --check)")
        head = found[-1][0] if found else None
        if head is not None and head not in manifest:
            raise Refused(f"revision {head} is not in {MANIFEST}: it was not made by {TOOL} (a hand-written "
                          f"placeholder?). Regenerate it with --redo \"description\" instead of revising it.")
        revision, previous = f"{len(found) + 1:04d}", head
        slug = slug or slugify(description)
    if not re.fullmatch(r"[a-z0-9_]+", slug):
        raise Refused(f"the slug {slug!r} is not lowercase letters, digits and _")
    if problems := manifest_problems(root, skip=revision if redo else None):
        raise Refused("released revisions differ from the manifest (undo these first):\n  "
                      + "\n  ".join(problems))

    p = plan(root, revision, previous)
    verb = "Would write" if dry_run else "Rewriting" if redo else "Writing"
    say(f"{verb} revision {revision} (revises {previous or 'nothing'}): {description}")
    for label, names in zip(("replaced (new body):", "re-signed (dropped first):", "added:", "dropped:"),
                            p.lists().values(), strict=True):
        say(show(label, names))
    if dry_run:
        return p

    sql_dir = frozen_dir(root, revision)
    copies = sql_dir / "functions"
    if copies.is_dir():
        for old in copies.iterdir():
            old.unlink()
        copies.rmdir()
    current = rule_files(root)
    if p.copies:
        copies.mkdir(parents=True)
        for name in p.copies:
            (copies / name).write_bytes(current[name].read_bytes())
        say(f"copied {len(p.copies)} files to {copies.relative_to(root)}/")
    sql_dir.mkdir(parents=True, exist_ok=True)
    for name in DDL_FILES:
        path = sql_dir / name
        if path.exists():
            say(f"kept {path.relative_to(root)}")
        else:
            path.write_text(ddl_template(name, p))
            say(f"created {path.relative_to(root)} (a header only: write its SQL, then --redo)")
    for old_file in (migrations_dir(root) / "versions").glob(f"{revision}_*.py"):
        old_file.unlink()
    versions_file = migrations_dir(root) / "versions" / f"{revision}_{slug}.py"
    versions_file.write_text(render(root, p, description))
    say(f"wrote {versions_file.relative_to(root)}")
    manifest[revision] = revision_files(root, revision)
    write_manifest(root, manifest)
    say(f"{MANIFEST}: {len(manifest[revision])} lines for {revision}")
    if anew := [sql_object(current[name].read_text()).name for name in p.resigned + p.added
                if not is_trigger_file(name)]:
        say(f"note: {revision}'s roles.sql must revoke EXECUTE from PUBLIC and grant the roles on the"
            f" routines it creates anew: {', '.join(anew)}")
    if (root / FUNCTIONS_MAP).is_file() and (root / FUNCTIONS_MAP).read_text() != functions_map(root):
        say(f"note: {FUNCTIONS_MAP} is stale: run python {TOOL} --map")
    return p


# ---- the map of the rule: db/functions/README.md --------------------------------------------------


@dataclass
class RuleObject:
    """One file of db/functions/, as the map shows it."""

    file: str
    kind: str
    name: str
    purpose: str
    calls: list[str]  # the rule's routines it names as public.<name>(, in the order they first appear
    header: Header | None = None  # a routine's
    trigger: dict[str, str] | None = None  # a trigger's table, timing, events, level, function, when


def first_sentence(text: str) -> str:
    """Up to the first full stop followed by a space (not one of e.g., i.e.) or the end."""
    match = re.match(r"(.+?(?<!\be\.g)(?<!\bi\.e)[.!?])(?=\s|$)", text, re.S)
    return (match[1] if match else text).strip()


def header_comment(text: str) -> str:
    """The file's leading comment lines, joined."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines)


_TRIGGER_PARTS = re.compile(r"CREATE OR REPLACE TRIGGER (\w+) (BEFORE|AFTER|INSTEAD OF) (.+?) ON (\S+) "
                            r"(.*?) ?EXECUTE (?:FUNCTION|PROCEDURE) public\.(\w+) ?\(", re.I | re.S)


def trigger_parts(text: str) -> dict[str, str]:
    code = " ".join(without_comments(text).split())
    match = _TRIGGER_PARTS.search(code)
    if match is None:
        raise Refused(f"cannot read the trigger in: {text[:80]!r}")
    _, timing, events, table, middle, function = match.groups()
    level = re.search(r"FOR EACH (ROW|STATEMENT)", middle, re.I)
    when = re.search(r"WHEN \((.*)\)$", middle, re.I | re.S)
    return {"table": table.removeprefix("public."), "timing": timing.upper(), "events": events,
            "level": (level[1] if level else "STATEMENT").lower()
            + (", transition tables" if re.search(r"\bREFERENCING\b", middle, re.I) else ""),
            "function": function, "when": when[1].strip() if when else ""}


def read_rule(root: Path) -> dict[str, RuleObject]:
    """The rule's objects by name."""
    files = rule_files(root)
    objects: dict[str, RuleObject] = {}
    for file, path in files.items():
        text = path.read_text()
        obj = sql_object(text)
        objects[obj.name] = RuleObject(
            file, obj.kind, obj.name, first_sentence(header_comment(text)),
            calls=list(dict.fromkeys(re.findall(r"\bpublic\.(\w+)\s*\(", without_comments(text)))),
            header=None if obj.kind == "trigger" else routine_header(text),
            trigger=trigger_parts(text) if obj.kind == "trigger" else None)
    routines = {name for name, o in objects.items() if o.kind != "trigger"}
    for o in objects.values():
        o.calls = [name for name in o.calls if name in routines and name != o.name]
    return objects


def is_trigger_function(o: RuleObject) -> bool:
    return o.header is not None and o.header.result.lower() == "trigger"


def classify(objects: dict[str, RuleObject]) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(public functions, internal functions, the callers of each: functions, and triggers as
    'trigger <name>')."""
    callers: dict[str, list[str]] = {name: [] for name, o in objects.items() if o.kind != "trigger"}
    for o in sorted(objects.values(), key=lambda o: o.name):
        for name in o.calls:
            callers[name].append(f"trigger {o.name}" if o.kind == "trigger" else o.name)
    public = [name for name in sorted(callers)
              if not callers[name] and not is_trigger_function(objects[name])]
    internal = [name for name in sorted(callers) if name not in public]
    return public, internal, callers


def call_tree(objects: dict[str, RuleObject], root_name: str) -> list[str]:
    """The functions `root_name` calls, recursively, as a Markdown list; one already expanded higher up
    is named again, marked (above), but not expanded."""
    lines, seen = [], {root_name}

    def walk(name: str, depth: int) -> None:
        for child in objects[name].calls:
            if child in seen:
                lines.append(f"{'  ' * depth}- `{child}` (above)")
            else:
                seen.add(child)
                lines.append(f"{'  ' * depth}- `{child}`")
                walk(child, depth + 1)

    walk(root_name, 0)
    return lines or ["Calls no other function of the rule."]


def cell(text: str) -> str:
    return text.replace("|", "\\|") or "(no header)"


def functions_map(root: Path) -> str:
    """db/functions/README.md, as generated from the files of db/functions/."""
    objects = read_rule(root)
    public, internal, callers = classify(objects)
    triggers = sorted((o for o in objects.values() if o.kind == "trigger"),
                      key=lambda o: (o.trigger or {}).get("table", "") + " " + o.name)
    wrap = textwrap.TextWrapper(width=104, break_long_words=False, break_on_hyphens=False)
    out = [
        "# The rule's triggers and functions: a map",
        "",
        wrap.fill(f"Generated from this directory's files by `python {TOOL} --map`: do not edit it by hand "
                  "(tests/test_revisions.py fails when it differs from what the generator writes)."),
        "",
        "- **Triggers** fire on the tables below, each running one trigger function.",
        textwrap.indent(wrap.fill(
            "**Public functions** are the entry points a client calls (psql, the Python layer, a cron "
            "job): the rule's functions and procedures that no other function of the rule calls and that "
            "are not trigger functions (run by a trigger, or returning `trigger`)."),
            "  ").replace("  **", "- **", 1),
        "- **Internal functions** are all the others: called by the rule's functions, or run by its",
        "  triggers.",
        "",
        wrap.fill("A call is a `public.<name>(` in a file, comments aside. The trees follow the calls "
                  "recursively; a function already expanded higher up in the same tree is marked (above) "
                  "and not expanded again."),
        "",
        "## Triggers",
        "",
        "| Trigger | Table | Timing | Events | Level | Function |",
        "|---|---|---|---|---|---|",
    ]
    for o in triggers:
        t = o.trigger or {}
        out.append(f"| `{o.name}` | {t['table']} | {t['timing']} | {cell(t['events'])} | {t['level']} |"
                   f" `{t['function']}` |")
    for o in triggers:
        t = o.trigger or {}
        out += ["", f"### `{o.name}`", "", o.purpose or "(no header)", ""]
        if t["when"]:
            out += [f"When `{t['when']}`.", ""]
        out += [f"- `{t['function']}`", *(f"  {line}" for line in call_tree(objects, t["function"])
                                          if not line.startswith("Calls no"))]
    out += ["", "## Public functions"]
    for name in public:
        o = objects[name]
        header = o.header
        assert header is not None
        kind = " (procedure)" if o.kind == "procedure" else ""
        out += ["", f"### `{name}({header.arguments})`{kind}", "", o.purpose or "(no header)", "",
                *call_tree(objects, name)]
    out += ["", "## Internal functions", "", "| Function | Purpose | Called by |", "|---|---|---|"]
    for name in internal:
        who = ", ".join(f"`{c}`" for c in callers[name]) or "nothing (yet)"
        out.append(f"| `{name}` | {cell(objects[name].purpose)} | {who} |")
    return "\n".join(out) + "\n"


def write_map(root: Path, say: Callable[[str], None] = print) -> None:
    path = root / FUNCTIONS_MAP
    text = functions_map(root)
    if path.is_file() and path.read_text() == text:
        say(f"{FUNCTIONS_MAP} is up to date")
    else:
        path.write_text(text)
        say(f"wrote {FUNCTIONS_MAP}")


def check(root: Path, say: Callable[[str], None] = print) -> bool:
    """Whether the manifest holds and the map is current; says what is wrong."""
    problems = manifest_problems(root)
    if not (root / FUNCTIONS_MAP).is_file() or (root / FUNCTIONS_MAP).read_text() != functions_map(root):
        problems.append(f"{FUNCTIONS_MAP} is stale: run python {TOOL} --map")
    for problem in problems:
        say(problem)
    return not problems


# ---- the command line -----------------------------------------------------------------------------

DESCRIPTION = f"""\
Makes the next revision of the rule's migrations from db/functions/ (the rule's current truth).

For each file of db/functions/ it finds the copy installed at the previous revision (its newest copy
under db/migrations/sql/NNNN/functions/ at or below it, unless a revision dropped it since) and
freezes every file that is new or differs into sql/NEW/functions/. A new body is installed over the
old one (CREATE OR REPLACE); a new signature (argument list, result, FUNCTION <-> PROCEDURE, a
trigger's table) drops the old object first; a file removed from db/functions/ drops its object. It
writes versions/NEW_<slug>.py with those lists frozen in it; creates sql/NEW/up.sql, down.sql and
roles.sql, a header comment only, when absent (never overwriting yours: write your DDL there, before
or after running it, then --redo); and adds the revision's files to
{MANIFEST}, the hashes of the released revisions' files (tests/test_revisions.py).
"""

EPILOG = f"""\
examples:
  python {TOOL} "Series end at a time of day"     the next revision, NEW = head + 1
  python {TOOL} --redo                            the newest revision again, after more changes
  python {TOOL} --redo "Every operation holds the core's guarantees"
        replaces a hand-written placeholder at the head (such as 0004 on main), keeping its up.sql,
        down.sql and roles.sql; plain mode refuses to revise a head missing from the manifest
  python {TOOL} --map                             regenerates {FUNCTIONS_MAP}
  python {TOOL} --check                           exit status 1 when the manifest or the map is off

--redo rewrites only the newest revision and its manifest lines: use it only while that revision has
not been released (deployed or merged for others to build on); after that, make a new revision.
"""


def main(argv: Iterable[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog=f"python {TOOL}", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("description", nargs="?",
                        help="one line for the revision's docstring (with --redo: by default the old one)")
    parser.add_argument("--redo", action="store_true",
                        help="regenerate the newest revision instead of making the next one")
    parser.add_argument("--slug", help="the versions file's name after NNNN_ (default: from the description;"
                                       " with --redo, the old one)")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what the revision would do, write nothing")
    parser.add_argument("--map", action="store_true", help=f"regenerate {FUNCTIONS_MAP} only")
    parser.add_argument("--check", action="store_true", help="check the manifest and the map, write nothing")
    args = parser.parse_args(None if argv is None else list(argv))
    if (args.map or args.check) and (args.description or args.redo or args.slug or args.dry_run):
        parser.error("--map and --check take no description, --redo, --slug or --dry-run")
    try:
        if args.check:
            return 0 if check(root) else 1
        if args.map:
            write_map(root)
            return 0
        make_revision(root, args.description, redo=args.redo, slug=args.slug, dry_run=args.dry_run)
    except Refused as refusal:
        print(f"{parser.prog}: {refusal}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
