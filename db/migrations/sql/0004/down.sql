-- Revision 0004 undone: back to 0003, the app's rows kept.
ALTER TABLE astegni_extensions DROP COLUMN after_tutor_id, DROP COLUMN batch_size, DROP COLUMN last_tutor_id;
REVOKE SELECT ON astegni_alembic_version FROM astegni_app, astegni_admin, astegni_scheduler;
GRANT INSERT, UPDATE, DELETE ON tutor_time_off TO astegni_app;

-- The longest session's setting (the functions reading it are put back or dropped after this file).
ALTER TABLE schedule_settings DROP COLUMN max_session_minutes;

-- The scheduler's role belongs to the whole server: other databases may still use it.
DROP OWNED BY astegni_scheduler;
DO $$
BEGIN
    DROP ROLE astegni_scheduler;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'role astegni_scheduler kept: other databases still use it';
END
$$;
