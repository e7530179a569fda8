-- Revision 0003: what the two roles may do with series and time off. The app records time off and
-- reads what the rule made; the extension at a chosen moment (astegni_extend_series_at) is the
-- owner's alone, so no client role moves the clock.
GRANT SELECT ON series, series_patterns, astegni_extensions TO astegni_app, astegni_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON tutor_time_off TO astegni_app, astegni_admin;
GRANT USAGE ON SEQUENCE tutor_time_off_id_seq TO astegni_app, astegni_admin;

-- PUBLIC gets nothing of the rule's new functions (as in 0002); the two roles get all but the clock.
DO $$
DECLARE
    v_function regprocedure;
BEGIN
    FOR v_function IN
        SELECT p.oid::regprocedure FROM pg_proc AS p
        WHERE p.pronamespace = 'public'::regnamespace
          AND (p.proname LIKE 'astegni\_%' OR p.proname IN ('preview_sessions', 'preview_reschedule'))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', v_function);
        IF v_function <> 'astegni_extend_series_at(timestamptz)'::regprocedure THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO astegni_app, astegni_admin', v_function);
        END IF;
    END LOOP;
END
$$;
