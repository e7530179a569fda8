-- Revision 0005, before its functions are installed: the DDL they need (tables, columns, types,
-- constraints). Only this comment when there is none.

-- Edits before accepting: the occurrences a tutor leaves out or moves in the step that accepts.
-- An edit of one date: left out (no times) or moved to these times on its own day (astegni_edits).
CREATE TYPE astegni_edit AS (session_date date, start_time time, end_time time);
-- The edits astegni_accept hands to the acceptance its UPDATE triggers, in the same transaction
-- (staged_by): written by astegni_stage_edits just before the UPDATE, checked by astegni_accept_requests,
-- applied and deleted by astegni_apply_acceptance. No client role writes it.
CREATE TABLE acceptance_edits (
    request_id integer NOT NULL REFERENCES requested_sessions (id) ON DELETE CASCADE,
    session_date date NOT NULL,
    start_time time,
    end_time time,
    staged_by bigint NOT NULL DEFAULT txid_current(),
    PRIMARY KEY (request_id, session_date),
    CHECK ((start_time IS NULL) = (end_time IS NULL))
);
-- A left-out occurrence is recorded as skipped, 'tutor_edit': nothing makes it later.
ALTER TABLE skipped_occurrences
    DROP CONSTRAINT skipped_occurrences_reason_check,
    ADD CONSTRAINT skipped_occurrences_reason_check
        CHECK (reason IN ('past', 'dst_gap', 'conflict', 'time_off', 'tutor_edit'));
