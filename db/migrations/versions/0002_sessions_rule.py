"""Accepted requests become sessions: the rule, its tables and constraints, the roles.

Installs the frozen SQL of this revision (db/migrations/sql/0002/), never db/functions/ directly, so
that this revision keeps its meaning when the functions change later. Existing rows are filled in
(sessions' tutor and instants); where existing data breaks a new constraint, the upgrade stops with
the rows and what to do, and changes nothing.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from astegni.migrations import install_frozen

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS_AND_TABLES = """
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE time_zone_names (name text PRIMARY KEY);
INSERT INTO time_zone_names (name) SELECT name FROM pg_timezone_names;

ALTER TABLE tutor_profiles ADD COLUMN timezone text NOT NULL DEFAULT 'Africa/Addis_Ababa';

CREATE TABLE schedule_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    weeks_horizon integer NOT NULL DEFAULT 8 CHECK (weeks_horizon BETWEEN 1 AND 520),
    session_limit integer NOT NULL DEFAULT 200 CHECK (session_limit BETWEEN 1 AND 100000)
);
INSERT INTO schedule_settings DEFAULT VALUES;

ALTER TABLE requested_sessions
    ADD COLUMN conflict_policy text NOT NULL DEFAULT 'fail'
        CONSTRAINT requested_sessions_conflict_policy_check CHECK (conflict_policy IN ('fail', 'skip')),
    ADD COLUMN cancelled_at timestamptz,
    ADD COLUMN cancelled_reason text;
CREATE INDEX requested_sessions_tutor_package_idx ON requested_sessions (tutor_id, package_id);

ALTER TABLE sessions
    ADD COLUMN tutor_id integer,
    ADD COLUMN request_id integer CONSTRAINT sessions_request_id_fkey REFERENCES requested_sessions (id),
    ADD COLUMN starts_at timestamptz,
    ADD COLUMN ends_at timestamptz;

CREATE TABLE skipped_occurrences (
    id serial PRIMARY KEY,
    request_id integer NOT NULL REFERENCES requested_sessions (id),
    session_date date NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    reason text NOT NULL CHECK (reason IN ('past', 'dst_gap', 'conflict')),
    clash_session_id integer REFERENCES sessions (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX skipped_occurrences_request_id_idx ON skipped_occurrences (request_id);
"""

BACKFILL = """
UPDATE sessions AS s
SET tutor_id = c.tutor_id,
    starts_at = astegni_starts_at(s.session_date, s.start_time, t.timezone),
    ends_at = astegni_ends_at(s.session_date, s.start_time, s.end_time, t.timezone),
    duration = (extract(epoch FROM astegni_ends_at(s.session_date, s.start_time, s.end_time, t.timezone)
                - astegni_starts_at(s.session_date, s.start_time, t.timezone)) / 60)::integer
FROM enrolled_courses AS c
JOIN tutor_profiles AS t ON t.id = c.tutor_id
WHERE c.id = s.enrolled_courses_id
"""

CONSTRAINTS = """
ALTER TABLE enrolled_students
    ADD CONSTRAINT enrolled_students_tutor_student_key UNIQUE (tutor_id, student_id);
ALTER TABLE enrolled_courses
    ADD CONSTRAINT enrolled_courses_tutor_package_key UNIQUE NULLS NOT DISTINCT (tutor_id, package_id),
    ADD CONSTRAINT enrolled_courses_id_tutor_key UNIQUE (id, tutor_id);
ALTER TABLE sessions
    ALTER COLUMN tutor_id SET NOT NULL,
    ALTER COLUMN starts_at SET NOT NULL,
    ALTER COLUMN ends_at SET NOT NULL,
    ADD CONSTRAINT sessions_course_tutor_fkey FOREIGN KEY (enrolled_courses_id, tutor_id)
        REFERENCES enrolled_courses (id, tutor_id),
    ADD CONSTRAINT sessions_request_date_key UNIQUE (request_id, session_date),
    ADD CONSTRAINT sessions_time_check CHECK (ends_at > starts_at),
    ADD CONSTRAINT sessions_no_overlap EXCLUDE USING gist (
        tutor_id WITH =, tstzrange(starts_at, ends_at) WITH &&, enrolled_courses_id WITH <>)
        WHERE (status IS DISTINCT FROM 'cancelled');
"""

ROLES = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'astegni_app') THEN
        CREATE ROLE astegni_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'astegni_admin') THEN
        CREATE ROLE astegni_admin NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO astegni_app, astegni_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO astegni_app;
GRANT INSERT ON requested_sessions TO astegni_app;
GRANT UPDATE (status, message, counter_offer_price, rejected_reason, cancelled_reason)
    ON requested_sessions TO astegni_app;
GRANT USAGE ON SEQUENCE requested_sessions_id_seq TO astegni_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO astegni_admin;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO astegni_admin;
-- Everyone reads the settings; the trigger decides who may change them (with its own SQLSTATE).
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON schedule_settings TO PUBLIC;
GRANT SELECT ON time_zone_names TO PUBLIC;
REVOKE EXECUTE ON FUNCTION astegni_on_request_statement(), astegni_on_session_write() FROM PUBLIC;
"""

DOWNGRADE = """
DROP TRIGGER requested_sessions_insert ON requested_sessions;
DROP TRIGGER requested_sessions_transition ON requested_sessions;
DROP TRIGGER requested_sessions_rule ON requested_sessions;
DROP TRIGGER sessions_insert_by_hand ON sessions;
DROP TRIGGER sessions_move ON sessions;
DROP TRIGGER schedule_settings_write ON schedule_settings;
DROP TRIGGER schedule_settings_truncate ON schedule_settings;
DROP TRIGGER tutor_profiles_timezone ON tutor_profiles;

DROP FUNCTION preview_sessions(integer), astegni_accept(integer, integer),
    astegni_reject(integer, text, integer), astegni_cancel(integer, text, integer),
    astegni_lock_request(integer, integer, text), astegni_on_request_statement(),
    astegni_notify(text, integer, integer, integer, bigint, timestamptz, timestamptz),
    astegni_on_request_transition(), astegni_on_request_insert(), astegni_on_session_write(),
    astegni_on_settings_write(), astegni_on_tutor_timezone(), astegni_refresh_time_zones(),
    astegni_accept_requests(integer[]), astegni_cancel_requests(integer[]),
    astegni_apply_acceptance(integer[], boolean), astegni_lock_tutors(integer[]),
    astegni_refuse_outcome(requested_sessions, integer, integer, text, date, integer),
    astegni_check_requests(integer[]),
    astegni_plan(requested_sessions, integer, text, timestamptz, integer, integer, boolean),
    astegni_occurrences(requested_sessions, text, timestamptz, integer, integer),
    astegni_schedule_problem(requested_sessions), astegni_request_student(integer, text, integer),
    astegni_starts_at(date, time, text), astegni_ends_at(date, time, time, text),
    astegni_isodow(date), astegni_parse_year(jsonb), astegni_parse_date(text), astegni_month(text),
    astegni_weekday(text), astegni_raise(text, text, jsonb, text);

DROP TABLE skipped_occurrences, schedule_settings, time_zone_names;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_no_overlap,
    DROP CONSTRAINT sessions_time_check,
    DROP CONSTRAINT sessions_request_date_key,
    DROP CONSTRAINT sessions_course_tutor_fkey,
    DROP COLUMN ends_at,
    DROP COLUMN starts_at,
    DROP COLUMN request_id,
    DROP COLUMN tutor_id;
ALTER TABLE enrolled_courses
    DROP CONSTRAINT enrolled_courses_id_tutor_key,
    DROP CONSTRAINT enrolled_courses_tutor_package_key;
ALTER TABLE enrolled_students DROP CONSTRAINT enrolled_students_tutor_student_key;
DROP INDEX requested_sessions_tutor_package_idx;
ALTER TABLE requested_sessions
    DROP COLUMN cancelled_reason,
    DROP COLUMN cancelled_at,
    DROP COLUMN conflict_policy;
ALTER TABLE tutor_profiles DROP COLUMN timezone;

-- The roles belong to the whole server: other databases may still use them.
DROP OWNED BY astegni_app, astegni_admin;
DO $$
BEGIN
    DROP ROLE astegni_app, astegni_admin;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'roles astegni_app and astegni_admin kept: other databases still use them';
END
$$;
"""

# Existing data that the new constraints refuse: (what is wrong, query listing the rows, what to do).
BLOCKERS = [
    (
        "students enrolled twice with one tutor (enrolled_students)",
        """SELECT tutor_id, student_id, array_agg(id ORDER BY id) AS ids FROM enrolled_students
           GROUP BY tutor_id, student_id HAVING count(*) > 1 ORDER BY 1, 2""",
        "keep one row per (tutor_id, student_id): merge the others into it, then delete them",
    ),
    (
        "courses held twice for one tutor and package (enrolled_courses)",
        """SELECT tutor_id, package_id, array_agg(id ORDER BY id) AS ids FROM enrolled_courses
           GROUP BY tutor_id, package_id HAVING count(*) > 1 ORDER BY 1, 2""",
        "merge each group into one row (students_id, sessions' enrolled_courses_id), then delete the rest",
    ),
    (
        "sessions whose time cannot be placed (no tutor on the course, or a missing or empty time)",
        """SELECT s.id, s.enrolled_courses_id, s.session_date, s.start_time, s.end_time
           FROM sessions AS s JOIN enrolled_courses AS c ON c.id = s.enrolled_courses_id
           WHERE c.tutor_id IS NULL OR s.session_date IS NULL OR s.start_time IS NULL
              OR s.end_time IS NULL OR s.start_time = s.end_time ORDER BY s.id""",
        "set the course's tutor_id and each session's session_date, start_time and end_time",
    ),
]

OVERLAPS = (
    "tutors with two overlapping sessions of different courses",
    """SELECT a.tutor_id, a.id AS session_id, b.id AS overlaps_session_id, a.starts_at, a.ends_at
       FROM sessions AS a JOIN sessions AS b
         ON b.tutor_id = a.tutor_id AND b.id > a.id AND b.enrolled_courses_id <> a.enrolled_courses_id
        AND tstzrange(b.starts_at, b.ends_at) && tstzrange(a.starts_at, a.ends_at)
       WHERE a.status IS DISTINCT FROM 'cancelled' AND b.status IS DISTINCT FROM 'cancelled'
       ORDER BY a.tutor_id, a.id, b.id""",
    "move one session of each pair, or set its status to 'cancelled'",
)


def stop_if_any(what: str, query: str, how: str) -> None:
    rows = op.get_bind().execute(sa.text(query)).mappings().all()
    if not rows:
        return
    listed = "\n".join("  " + ", ".join(f"{k}={v}" for k, v in row.items()) for row in rows[:50])
    more = f"\n  ... and {len(rows) - 50} more" if len(rows) > 50 else ""
    raise RuntimeError(
        f"Migration 0002 stopped, nothing was changed: {len(rows)} {what}:\n{listed}{more}\n"
        f"To resolve: {how}; then run the upgrade again."
    )


def upgrade() -> None:
    for blocker in BLOCKERS:
        stop_if_any(*blocker)
    op.execute(COLUMNS_AND_TABLES)
    install_frozen("0002", triggers=False)
    op.execute(BACKFILL)
    stop_if_any(*OVERLAPS)
    op.execute(CONSTRAINTS)
    install_frozen("0002", triggers=True)
    op.execute(ROLES)


def downgrade() -> None:
    op.execute(DOWNGRADE)
