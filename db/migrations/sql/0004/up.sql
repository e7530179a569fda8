-- Revision 0004, before its functions: every operation that books or frees a tutor's time holds the
-- guarantees acceptance holds. Only additions: the extension runs in batches of tutors, each logged,
-- and a session is at most schedule_settings.max_session_minutes long.

-- A run of the extension is a row per batch: the tutors after after_tutor_id up to last_tutor_id
-- (NULL: none was left, the run's last row), about batch_size series.
ALTER TABLE astegni_extensions
    ADD COLUMN after_tutor_id integer NOT NULL DEFAULT 0,
    ADD COLUMN batch_size integer NOT NULL DEFAULT 200 CHECK (batch_size > 0),
    ADD COLUMN last_tutor_id integer;

-- The longest session a schedule or a session by hand may make, in minutes (astegni_times_problem).
ALTER TABLE schedule_settings
    ADD COLUMN max_session_minutes integer NOT NULL DEFAULT 480
        CHECK (max_session_minutes BETWEEN 1 AND 1440);
