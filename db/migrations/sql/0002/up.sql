-- Revision 0002, before its functions: what the rule adds to an Astegni database. Only additions: new
-- tables, new columns, one CHECK widened to allow 'cancelled'; no existing column changes its type.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- IANA zone names the server knows (pg_timezone_names takes 30 ms a scan; this is a lookup).
CREATE TABLE time_zone_names (name text PRIMARY KEY);
INSERT INTO time_zone_names (name) SELECT name FROM pg_timezone_names;

ALTER TABLE tutor_profiles ADD COLUMN timezone text NOT NULL DEFAULT 'Africa/Addis_Ababa';

-- One row: the weeks horizon of recurring requests and the most sessions one acceptance may make.
CREATE TABLE schedule_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    weeks_horizon integer NOT NULL DEFAULT 8 CHECK (weeks_horizon BETWEEN 1 AND 520),
    session_limit integer NOT NULL DEFAULT 200 CHECK (session_limit BETWEEN 1 AND 100000)
);
INSERT INTO schedule_settings DEFAULT VALUES;

ALTER TABLE requested_sessions
    DROP CONSTRAINT session_requests_status_check,
    ADD CONSTRAINT session_requests_status_check
        CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled')),
    ADD COLUMN conflict_policy text NOT NULL DEFAULT 'fail'
        CONSTRAINT requested_sessions_conflict_policy_check CHECK (conflict_policy IN ('fail', 'skip')),
    ADD COLUMN cancelled_at timestamptz,
    ADD COLUMN cancelled_reason text;
CREATE INDEX requested_sessions_tutor_package_idx ON requested_sessions (tutor_id, package_id);

ALTER TABLE sessions
    ADD COLUMN tutor_id integer,
    ADD COLUMN request_id integer
        CONSTRAINT sessions_request_id_fkey REFERENCES requested_sessions (id) ON DELETE SET NULL,
    ADD COLUMN starts_at timestamptz,
    ADD COLUMN ends_at timestamptz;

-- Occurrences an acceptance did not create, and why.
CREATE TABLE skipped_occurrences (
    id serial PRIMARY KEY,
    request_id integer NOT NULL REFERENCES requested_sessions (id) ON DELETE CASCADE,
    session_date date NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    reason text NOT NULL CHECK (reason IN ('past', 'dst_gap', 'conflict')),
    clash_session_id integer REFERENCES sessions (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX skipped_occurrences_request_id_idx ON skipped_occurrences (request_id);

-- What each acceptance made, and why not more (note: see astegni_schedule_note; 'none_ahead' when a
-- schedule that is there had no occurrence left to make).
CREATE TABLE acceptances (
    request_id integer PRIMARY KEY REFERENCES requested_sessions (id) ON DELETE CASCADE,
    accepted_at timestamptz NOT NULL,
    sessions_created integer NOT NULL,
    students_enrolled integer NOT NULL,
    note text CHECK (note IN ('no_schedule', 'no_dates', 'no_days', 'no_times', 'window_passed', 'none_ahead'))
);

-- What the rule announces, written in the transaction that did it: one row per request accepted or
-- cancelled. Listeners read it from here (a NOTIFY on astegni_sessions only wakes them), so no client
-- can forge an event, and only the project's roles read them.
CREATE TABLE astegni_events (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    event text NOT NULL CHECK (event IN ('accepted', 'cancelled')),
    request_id integer NOT NULL REFERENCES requested_sessions (id) ON DELETE CASCADE,
    tutor_id integer NOT NULL,
    student_id integer,
    sessions integer NOT NULL,
    first_starts_at timestamptz,
    last_starts_at timestamptz,
    note text
);

-- How far each named listener has read astegni_events: it resumes there after a restart.
CREATE TABLE astegni_event_cursors (
    listener text PRIMARY KEY,
    last_event_id bigint NOT NULL
);

-- One row per tutor whose time has been booked: its row lock serialises what books the tutor's time
-- (astegni_lock_tutors). No client role may write it, so nobody can hold a tutor's lock.
CREATE TABLE astegni_tutor_locks (
    tutor_id integer PRIMARY KEY REFERENCES tutor_profiles (id) ON DELETE CASCADE
);

-- The part of a request that decides its occurrences: acceptance expands each distinct one once.
CREATE TYPE astegni_schedule AS (
    schedule_type text, days jsonb, specific_dates jsonb, months jsonb, year_range jsonb,
    start_time time, end_time time
);
