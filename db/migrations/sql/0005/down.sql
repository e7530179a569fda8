-- Revision 0005 undone, back to 0004: runs first in the downgrade, before the functions it
-- added or re-signed are dropped and the previous copies put back. Undoes up.sql. Only this comment
-- when there is nothing to undo.

-- ==== Calendar feeds ====
DROP INDEX IF EXISTS sessions_tutor_starts_at;
DROP INDEX requested_session_students_student_idx;
DROP INDEX requested_sessions_requester_idx;
DROP TABLE astegni_calendar_links;
