-- Revision 0005: grants, after its functions are installed. A routine created anew (added, or
-- re-signed: dropped and created) can be executed by PUBLIC and by neither role: revoke and grant
-- it here (as sql/0003/roles.sql does; ON ROUTINE covers a procedure too).

-- ==== Calendar feeds ====
-- No role reads astegni_calendar_links (an owner's table, PUBLIC has nothing on a new one): the app
-- serves feeds through astegni_calendar_feed and astegni_calendar_changed, which take a token's hash
-- and answer for that link alone; issuing and revoking links is the admin's (astegni calendar-link).
REVOKE ALL ON FUNCTION astegni_calendar_feed(bytea), astegni_calendar_changed(bytea, text),
    astegni_calendar_link(text, integer, bytea), astegni_revoke_calendar_links(text, integer),
    astegni_check_calendar_owner(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION astegni_calendar_feed(bytea), astegni_calendar_changed(bytea, text)
    TO astegni_app, astegni_admin;
GRANT EXECUTE ON FUNCTION astegni_calendar_link(text, integer, bytea),
    astegni_revoke_calendar_links(text, integer) TO astegni_admin;
-- ==== Email (astegni mail): astegni_mailer, the one role that reads addresses ====
-- The worker emailing students and parents about the rule's events. It alone reads users.email (and
-- users.id, to join on): astegni_app never may, so that a web app's login cannot list addresses.
-- Nothing else of users (names, password hashes, phones) nor of the profiles but their ids; it writes
-- only its own cursor and its refusals. astegni_admin may read the refusals.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'astegni_mailer') THEN
        CREATE ROLE astegni_mailer NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO astegni_mailer;
GRANT SELECT ON astegni_alembic_version, astegni_events, sessions, requested_sessions,
    requested_session_students TO astegni_mailer;
GRANT SELECT, INSERT, UPDATE ON astegni_event_cursors TO astegni_mailer;
GRANT SELECT (id, timezone) ON tutor_profiles TO astegni_mailer;
GRANT SELECT (id, user_id) ON student_profiles TO astegni_mailer;
GRANT SELECT (id, email) ON users TO astegni_mailer;
GRANT SELECT, INSERT, UPDATE ON astegni_mail_refusals TO astegni_mailer;
GRANT SELECT ON astegni_mail_refusals TO astegni_admin;
-- Who a request enrols, as the rule reads it (the sessions query and the recipients call these).
GRANT EXECUTE ON FUNCTION astegni_request_student(integer, text, integer),
    astegni_request_students(requested_sessions) TO astegni_mailer;
-- ==== The extension locks only tutors with sessions to make ====
-- astegni_extension_work is re-signed (it says what each row needs): granted as before.
REVOKE EXECUTE ON FUNCTION astegni_extension_work(timestamptz, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION astegni_extension_work(timestamptz, integer, integer) TO astegni_app, astegni_admin;
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
