-- Revision 0002: two NOLOGIN roles to grant to login roles, with exactly the tables and sequences the
-- rule needs (never ALL TABLES: an Astegni database holds passwords and payments). astegni_app is a web
-- app: reads, inserts requests and changes their status; the rule writes the rest for it (SECURITY
-- DEFINER). astegni_admin also changes sessions and enrolments by hand.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'astegni_app') THEN
        CREATE ROLE astegni_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'astegni_admin') THEN
        CREATE ROLE astegni_admin NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO astegni_app, astegni_admin;

GRANT SELECT ON requested_sessions, requested_session_students, sessions, enrolled_students,
    enrolled_courses, skipped_occurrences, acceptances, tutor_packages, schedule_settings, time_zone_names,
    astegni_events, astegni_event_cursors
    TO astegni_app, astegni_admin;
-- A listener keeps its place in the events (astegni listen --name).
GRANT INSERT, UPDATE ON astegni_event_cursors TO astegni_app, astegni_admin;
-- Profiles hold secrets (two-factor keys): only the columns the rule reads.
GRANT SELECT (id, user_id, timezone) ON tutor_profiles TO astegni_app, astegni_admin;
GRANT SELECT (id, user_id) ON student_profiles TO astegni_app, astegni_admin;

GRANT INSERT ON requested_sessions, requested_session_students TO astegni_app, astegni_admin;
GRANT UPDATE (status, message, counter_offer_price, rejected_reason, cancelled_reason)
    ON requested_sessions TO astegni_app;
GRANT UPDATE, DELETE ON requested_sessions, requested_session_students TO astegni_admin;
GRANT INSERT, UPDATE, DELETE ON sessions, enrolled_students, enrolled_courses TO astegni_admin;
-- astegni_admin may try: the settings trigger then says who may change them (AS008).
GRANT UPDATE ON schedule_settings TO astegni_admin;
GRANT UPDATE (timezone) ON tutor_profiles TO astegni_admin;

-- The sequences by what owns them: the app's are named after tables it has since renamed.
DO $$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['requested_sessions', 'requested_session_students'] LOOP
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO astegni_app, astegni_admin',
                       pg_get_serial_sequence(v_table, 'id'));
    END LOOP;
    FOREACH v_table IN ARRAY ARRAY['sessions', 'enrolled_students', 'enrolled_courses'] LOOP
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO astegni_admin', pg_get_serial_sequence(v_table, 'id'));
    END LOOP;
END
$$;

-- PUBLIC gets nothing of the rule's: PostgreSQL lets PUBLIC execute every new function, so each of the
-- rule's is revoked and granted to the two roles (a login with no grants cannot even call them). The
-- settings are changed by the owner's role alone; astegni_tutor_locks by the rule alone.
DO $$
DECLARE
    v_function regprocedure;
BEGIN
    FOR v_function IN
        SELECT p.oid::regprocedure FROM pg_proc AS p
        WHERE p.pronamespace = 'public'::regnamespace
          AND (p.proname LIKE 'astegni\_%' OR p.proname = 'preview_sessions')
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', v_function);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO astegni_app, astegni_admin', v_function);
    END LOOP;
END
$$;
