-- Revision 0005, before its functions are installed: the DDL they need (tables, columns, types,
-- constraints). Only this comment when there is none.

-- ==== A tutor's sessions by time: the index every listing by tutor and time reads ====
-- An operator may have built it ahead with CREATE INDEX CONCURRENTLY (docs/adopting.md): one of this
-- name and definition is adopted as it is; one that differs, or a failed concurrent build (INVALID),
-- stops the upgrade by name rather than being used or built over.
DO $$
DECLARE
    v_index regclass := to_regclass('public.sessions_tutor_starts_at');
    v_definition text;
    v_valid boolean;
BEGIN
    IF v_index IS NULL THEN
        CREATE INDEX sessions_tutor_starts_at ON public.sessions (tutor_id, starts_at);
        RETURN;
    END IF;
    SELECT pg_get_indexdef(i.indexrelid), i.indisvalid INTO v_definition, v_valid
    FROM pg_index AS i WHERE i.indexrelid = v_index;
    IF v_definition IS DISTINCT FROM
            'CREATE INDEX sessions_tutor_starts_at ON public.sessions USING btree (tutor_id, starts_at)' THEN
        RAISE EXCEPTION 'public.sessions_tutor_starts_at exists but is not the index revision 0005 makes: %',
            coalesce(v_definition, 'not an index')
            USING HINT = 'Drop it (DROP INDEX CONCURRENTLY public.sessions_tutor_starts_at), or build it as '
                         'CREATE INDEX CONCURRENTLY sessions_tutor_starts_at ON public.sessions '
                         '(tutor_id, starts_at), and upgrade again.';
    END IF;
    IF NOT v_valid THEN
        RAISE EXCEPTION 'index public.sessions_tutor_starts_at is INVALID (a CREATE INDEX CONCURRENTLY that failed)'
            USING HINT = 'Drop it (DROP INDEX CONCURRENTLY public.sessions_tutor_starts_at), build it again '
                         'CONCURRENTLY, and upgrade again.';
    END IF;
END
$$;
