-- Revision 0002 undone: back to the baseline, the app's rows kept (and its status CHECK as it was:
-- cancelled requests must be handled first).
DROP TRIGGER requested_sessions_insert ON requested_sessions;
DROP TRIGGER requested_sessions_transition ON requested_sessions;
DROP TRIGGER requested_sessions_rule ON requested_sessions;
DROP TRIGGER sessions_insert_by_hand ON sessions;
DROP TRIGGER sessions_move ON sessions;
DROP TRIGGER schedule_settings_write ON schedule_settings;
DROP TRIGGER schedule_settings_truncate ON schedule_settings;
DROP TRIGGER tutor_profiles_timezone ON tutor_profiles;
DROP TRIGGER tutor_profiles_zone_change ON tutor_profiles;

DROP FUNCTION preview_sessions, astegni_accept, astegni_reject, astegni_cancel, astegni_on_request_statement,
    astegni_notify, astegni_on_request_transition, astegni_on_request_insert, astegni_on_session_write,
    astegni_on_settings_write, astegni_on_tutor_timezone, astegni_on_tutor_zone_change,
    astegni_refresh_time_zones, astegni_accept_requests,
    astegni_cancel_requests, astegni_apply_acceptance, astegni_lock_tutors, astegni_refuse_outcome,
    astegni_refuse_response, astegni_check_requests, astegni_occurrence_outcome, astegni_occurrences,
    astegni_schedule_of, astegni_schedule_problem, astegni_schedule_note, astegni_window_passed,
    astegni_request_students, astegni_request_student, astegni_starts_at, astegni_ends_at, astegni_isodow,
    astegni_parse_year, astegni_parse_date, astegni_month, astegni_weekday, astegni_raise;
DROP TYPE astegni_schedule;

DROP TABLE astegni_event_cursors, astegni_events, astegni_tutor_locks, acceptances, skipped_occurrences, schedule_settings, time_zone_names;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_no_overlap,
    DROP CONSTRAINT sessions_time_check,
    DROP CONSTRAINT sessions_request_date_key,
    DROP CONSTRAINT sessions_course_tutor_fkey,
    ALTER COLUMN enrolled_courses_id DROP NOT NULL,
    DROP COLUMN ends_at,
    DROP COLUMN starts_at,
    DROP COLUMN request_id,
    DROP COLUMN tutor_id;
ALTER TABLE enrolled_courses
    DROP CONSTRAINT enrolled_courses_id_tutor_key,
    DROP CONSTRAINT enrolled_courses_tutor_package_key;
ALTER TABLE enrolled_students DROP CONSTRAINT enrolled_students_tutor_student_key;
DROP INDEX requested_sessions_tutor_package_idx;
ALTER TABLE requested_sessions
    DROP COLUMN cancelled_reason,
    DROP COLUMN cancelled_at,
    DROP COLUMN conflict_policy,
    DROP CONSTRAINT session_requests_status_check,
    ADD CONSTRAINT session_requests_status_check CHECK (((status)::text = ANY ((ARRAY['pending'::character varying, 'accepted'::character varying, 'rejected'::character varying])::text[])));
ALTER TABLE tutor_profiles DROP COLUMN timezone;

-- The roles belong to the whole server: other databases may still use them.
DROP OWNED BY astegni_app, astegni_admin;
DO $$
BEGIN
    DROP ROLE astegni_app, astegni_admin;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'roles astegni_app and astegni_admin kept: other databases still use them';
END
$$;
