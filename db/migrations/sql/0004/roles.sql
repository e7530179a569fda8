-- Revision 0004: what the roles may do.
-- astegni_scheduler runs the extension (CALL astegni_extend_series()), which takes batches of tutors'
-- locks: a role of its own for the cron or pg_cron job, so that no web app login can hold them in a
-- transaction left open. astegni_admin may run it too (granted the routines, not the role: granting a
-- role needs its admin option, which a database owner that did not create it lacks).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'astegni_scheduler') THEN
        CREATE ROLE astegni_scheduler NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO astegni_scheduler;

-- Any client command checks the database's revision first.
GRANT SELECT ON astegni_alembic_version TO astegni_app, astegni_admin, astegni_scheduler;
-- The app records and removes time off through astegni_add_time_off and astegni_remove_time_off, which
-- take the tutor's lock and scope the change to the tutor it names; only an admin writes the table.
REVOKE INSERT, UPDATE, DELETE ON tutor_time_off FROM astegni_app;

-- PUBLIC gets nothing of the rule's routines; the two roles get all but the extension (the
-- scheduler's) and the extension at a chosen moment (the owner's alone).
DO $$
DECLARE
    v_routine regprocedure;
BEGIN
    FOR v_routine IN
        SELECT p.oid::regprocedure FROM pg_proc AS p
        WHERE p.pronamespace = 'public'::regnamespace
          AND (p.proname LIKE 'astegni\_%' OR p.proname IN ('preview_sessions', 'preview_reschedule'))
    LOOP
        EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC, astegni_app, astegni_admin', v_routine);
        IF v_routine IN ('astegni_extend_series(integer, integer, integer, integer)'::regprocedure,
                         'astegni_extend_step(integer, integer)'::regprocedure) THEN
            EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO astegni_scheduler, astegni_admin', v_routine);
        ELSIF v_routine <> 'astegni_extend_series_at(timestamptz)'::regprocedure THEN
            EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO astegni_app, astegni_admin', v_routine);
        END IF;
    END LOOP;
END
$$;
