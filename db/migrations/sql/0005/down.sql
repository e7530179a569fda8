-- Revision 0005 undone, back to 0004: runs first in the downgrade, before the functions it
-- added or re-signed are dropped and the previous copies put back. Undoes up.sql. Only this comment
-- when there is nothing to undo.

-- ==== Listeners miss no event: undone (the cursors keep their last id) ====
ALTER TABLE astegni_event_cursors DROP COLUMN last_xact, DROP COLUMN started;
ALTER TABLE astegni_events DROP COLUMN xact;
-- Edits before accepting.
DELETE FROM skipped_occurrences WHERE reason = 'tutor_edit';
ALTER TABLE skipped_occurrences
    DROP CONSTRAINT skipped_occurrences_reason_check,
    ADD CONSTRAINT skipped_occurrences_reason_check
        CHECK (reason IN ('past', 'dst_gap', 'conflict', 'time_off'));
DROP TABLE acceptance_edits;
-- CASCADE: with the routines taking or returning it (astegni_edits, astegni_check_edits), which the
-- downgrade drops next (IF EXISTS) anyway.
DROP TYPE astegni_edit CASCADE;
-- ==== Email (astegni mail) undone: the refusals and the mailer's role ====
DROP TABLE astegni_mail_refusals;
-- Its grants here go with DROP OWNED; the role belongs to the whole server: other databases may still
-- use it.
DROP OWNED BY astegni_mailer;
DO $$
BEGIN
    DROP ROLE astegni_mailer;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'role astegni_mailer kept: other databases still use it';
END
$$;
-- ==== Calendar feeds ====
DROP INDEX requested_session_students_student_idx;
DROP INDEX requested_sessions_requester_idx;
DROP TABLE astegni_calendar_links;
-- ==== A tutor's sessions by time: the index every listing by tutor and time reads ====
DROP INDEX public.sessions_tutor_starts_at;
