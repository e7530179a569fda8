-- Revision 0004, before its functions: every operation that books or frees a tutor's time holds the
-- guarantees acceptance holds. Only additions.
SELECT 1;
