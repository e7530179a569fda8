-- Revision 0005: grants, after its functions are installed. A routine created anew (added, or
-- re-signed: dropped and created) can be executed by PUBLIC and by neither role: revoke and grant
-- it here (as sql/0003/roles.sql does; ON ROUTINE covers a procedure too).

-- Edits before accepting: the routines added or re-signed, to both client roles as the rest of the
-- rule's; acceptance_edits to neither (astegni_stage_edits writes it).
DO $$
DECLARE
    v_routine regprocedure;
BEGIN
    FOR v_routine IN
        SELECT p.oid::regprocedure FROM pg_proc AS p
        WHERE p.pronamespace = 'public'::regnamespace
          AND p.proname IN ('astegni_accept', 'preview_sessions', 'astegni_refuse_outcome', 'astegni_edits',
                            'astegni_stage_edits', 'astegni_check_edits', 'astegni_edit_occurrence',
                            'astegni_request_occurrences', 'astegni_parse_time')
    LOOP
        EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', v_routine);
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO astegni_app, astegni_admin', v_routine);
    END LOOP;
END
$$;
