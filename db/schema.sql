-- The schema at head, readable in one place: tables, constraints, indexes and types (the functions
-- and triggers are in db/functions/). The migrations are the way to get there; tests/test_schema.py checks
-- that they make exactly this.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
    id serial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- IANA zone names the server knows (pg_timezone_names takes 30 ms a scan; this is a lookup).
CREATE TABLE time_zone_names (name text PRIMARY KEY);

CREATE TABLE tutor_profiles (
    id serial PRIMARY KEY,
    user_id integer REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    timezone text NOT NULL DEFAULT 'Africa/Addis_Ababa'
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

-- One row: the weeks horizon of recurring requests and the most sessions one acceptance may make.
CREATE TABLE schedule_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    weeks_horizon integer NOT NULL DEFAULT 8 CHECK (weeks_horizon BETWEEN 1 AND 520),
    session_limit integer NOT NULL DEFAULT 200 CHECK (session_limit BETWEEN 1 AND 100000)
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
    rejected_reason text,
    conflict_policy text NOT NULL DEFAULT 'fail'
        CONSTRAINT requested_sessions_conflict_policy_check CHECK (conflict_policy IN ('fail', 'skip')),
    cancelled_at timestamptz,
    cancelled_reason text
);
CREATE INDEX requested_sessions_tutor_package_idx ON requested_sessions (tutor_id, package_id);

CREATE TABLE enrolled_students (
    id serial PRIMARY KEY,
    tutor_id integer REFERENCES tutor_profiles (id),
    student_id integer REFERENCES student_profiles (id),
    package_id integer REFERENCES tutor_packages (id),
    agreed_price numeric(10, 2),
    status text DEFAULT 'active',
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT enrolled_students_tutor_student_key UNIQUE (tutor_id, student_id)
);

CREATE TABLE enrolled_courses (
    id serial PRIMARY KEY,
    tutor_id integer REFERENCES tutor_profiles (id),
    package_id integer REFERENCES tutor_packages (id),
    students_id integer[] NOT NULL DEFAULT '{}',
    course_id integer[] DEFAULT '{}',
    status text DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT enrolled_courses_tutor_package_key UNIQUE NULLS NOT DISTINCT (tutor_id, package_id),
    CONSTRAINT enrolled_courses_id_tutor_key UNIQUE (id, tutor_id)
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
    updated_at timestamptz NOT NULL DEFAULT now(),
    tutor_id integer NOT NULL,
    request_id integer CONSTRAINT sessions_request_id_fkey REFERENCES requested_sessions (id),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    CONSTRAINT sessions_course_tutor_fkey FOREIGN KEY (enrolled_courses_id, tutor_id)
        REFERENCES enrolled_courses (id, tutor_id),
    CONSTRAINT sessions_request_date_key UNIQUE (request_id, session_date),
    CONSTRAINT sessions_time_check CHECK (ends_at > starts_at),
    -- No tutor is in two places at once, unless both sessions are one course's (a group class).
    CONSTRAINT sessions_no_overlap EXCLUDE USING gist (
        tutor_id WITH =, tstzrange(starts_at, ends_at) WITH &&, enrolled_courses_id WITH <>)
        WHERE (status IS DISTINCT FROM 'cancelled')
);

-- Occurrences an acceptance did not create, and why.
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

-- The part of a request that decides its occurrences: acceptance expands each distinct one once.
CREATE TYPE astegni_schedule AS (
    schedule_type text, days jsonb, specific_dates jsonb, months jsonb, year_range jsonb,
    start_time time, end_time time
);
