-- Revision 0003, before its functions: series (a recurring request keeps making its sessions up to a
-- rolling horizon), the patterns a series has had, tutors' time off, the log of extensions. Only
-- additions: new tables, one new column on sessions, two CHECKs widened.

-- An accepted recurring request: its window (fixed at acceptance), how far it has been made, its end.
CREATE TABLE series (
    request_id integer PRIMARY KEY REFERENCES requested_sessions (id) ON DELETE CASCADE,
    tutor_id integer NOT NULL REFERENCES tutor_profiles (id) ON DELETE CASCADE,
    -- The month/year window (NULL: none, or one that had passed at acceptance): made only within it.
    window_start date,
    window_end date,
    -- The horizon last reached, a wall-clock time in the tutor's zone: nothing at or before it is made
    -- again, so a session cancelled, deleted or moved by hand is never recreated.
    made_until timestamp NOT NULL,
    -- Set by astegni_end_series: nothing after last_date; closed_at once its students have left.
    last_date date,
    ended_reason text,
    ended_at timestamptz,
    closed_at timestamptz,
    CHECK (window_end >= window_start)
);
CREATE INDEX series_tutor_id_idx ON series (tutor_id);

-- Every pattern a series has had, from the date it applied: the newest is the request's own.
CREATE TABLE series_patterns (
    id serial PRIMARY KEY,
    request_id integer NOT NULL REFERENCES series (request_id) ON DELETE CASCADE,
    valid_from date NOT NULL,
    days jsonb,
    start_time time,
    end_time time,
    set_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX series_patterns_request_id_idx ON series_patterns (request_id, id);

-- When a tutor is away: no occurrence inside is made, and sessions inside are cancelled.
CREATE TABLE tutor_time_off (
    id serial PRIMARY KEY,
    tutor_id integer NOT NULL REFERENCES tutor_profiles (id) ON DELETE CASCADE,
    during tstzrange NOT NULL,
    reason text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tutor_time_off_during_idx ON tutor_time_off USING gist (tutor_id, during);

-- One row per run of the extension: the moment it extended to and what it made.
CREATE TABLE astegni_extensions (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    ran_at timestamptz NOT NULL DEFAULT now(),
    series_grown integer NOT NULL DEFAULT 0,
    sessions_made integer NOT NULL DEFAULT 0
);

-- Why a session was cancelled by the rule: 'request_cancelled', 'series_ended', 'rescheduled', 'time_off'.
ALTER TABLE sessions ADD COLUMN cancelled_reason text;

ALTER TABLE skipped_occurrences
    DROP CONSTRAINT skipped_occurrences_reason_check,
    ADD CONSTRAINT skipped_occurrences_reason_check
        CHECK (reason IN ('past', 'dst_gap', 'conflict', 'time_off'));
-- The occurrences time off held back: the extension looks for those it may make again.
CREATE INDEX skipped_occurrences_time_off_idx ON skipped_occurrences (request_id) WHERE reason = 'time_off';

ALTER TABLE astegni_events
    DROP CONSTRAINT astegni_events_event_check,
    ADD CONSTRAINT astegni_events_event_check
        CHECK (event IN ('accepted', 'cancelled', 'extended', 'ended', 'rescheduled', 'time_off'));

-- Functions of 0002 whose arguments change: dropped here, the new ones installed from 0003's copy.
DROP FUNCTION astegni_occurrences(astegni_schedule, text, timestamptz, integer, integer);
DROP FUNCTION astegni_occurrence_outcome(timestamptz, timestamptz, text, integer, integer, text, boolean);
