-- Revision 0005 undone, back to 0004: runs first in the downgrade, before the functions it
-- added or re-signed are dropped and the previous copies put back. Undoes up.sql. Only this comment
-- when there is nothing to undo.

-- ==== A tutor's sessions by time: the index every listing by tutor and time reads ====
DROP INDEX public.sessions_tutor_starts_at;
