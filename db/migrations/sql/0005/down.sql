-- Revision 0005 undone, back to 0004: runs first in the downgrade, before the functions it
-- added or re-signed are dropped and the previous copies put back. Undoes up.sql. Only this comment
-- when there is nothing to undo.

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
