"""Baseline: the tables as an existing Astegni database already has them.

An existing database is stamped at this revision (`alembic stamp 0001`) and then
upgraded; a new database is created from it.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = """
CREATE TABLE users (
    id serial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tutor_profiles (
    id serial PRIMARY KEY,
    user_id integer REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE student_profiles (
    id serial PRIMARY KEY,
    user_id integer UNIQUE REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE parent_profiles (
    id serial PRIMARY KEY,
    user_id integer REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tutor_packages (
    id serial PRIMARY KEY,
    tutor_id integer REFERENCES tutor_profiles (id),
    name text NOT NULL,
    hourly_rate numeric(10, 2) DEFAULT 0,
    course_ids integer[] DEFAULT '{}'
);

CREATE TABLE requested_sessions (
    id serial PRIMARY KEY,
    tutor_id integer NOT NULL REFERENCES tutor_profiles (id),
    requester_id integer NOT NULL REFERENCES users (id),
    requester_type text CHECK (requester_type IN ('student', 'parent')),
    package_id integer REFERENCES tutor_packages (id),
    requested_to_id integer REFERENCES student_profiles (id),
    message text,
    status text NOT NULL DEFAULT 'pending',
    schedule_type text,
    days jsonb,
    specific_dates jsonb,
    months jsonb,
    year_range jsonb,
    start_time time,
    end_time time,
    counter_offer_price numeric(10, 2),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    responded_at timestamptz,
    rejected_at timestamptz,
    rejected_reason text
);

CREATE TABLE enrolled_students (
    id serial PRIMARY KEY,
    tutor_id integer REFERENCES tutor_profiles (id),
    student_id integer REFERENCES student_profiles (id),
    package_id integer REFERENCES tutor_packages (id),
    agreed_price numeric(10, 2),
    status text DEFAULT 'active',
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE enrolled_courses (
    id serial PRIMARY KEY,
    tutor_id integer REFERENCES tutor_profiles (id),
    package_id integer REFERENCES tutor_packages (id),
    students_id integer[] NOT NULL DEFAULT '{}',
    course_id integer[] DEFAULT '{}',
    status text DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id serial PRIMARY KEY,
    enrolled_courses_id integer NOT NULL REFERENCES enrolled_courses (id),
    session_date date,
    start_time time,
    end_time time,
    duration integer,
    topics jsonb DEFAULT '[]',
    session_mode text DEFAULT 'online',
    status text DEFAULT 'scheduled',
    priority_level text DEFAULT 'medium',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""

DROP = """
DROP TABLE sessions, enrolled_courses, enrolled_students, requested_sessions,
    tutor_packages, parent_profiles, student_profiles, tutor_profiles, users;
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    op.execute(DROP)
