-- Trigger function (BEFORE INSERT, UPDATE, DELETE and TRUNCATE on schedule_settings): only a member of
-- the database owner's role may change a setting (the weeks horizon, the session limit, the longest
-- session), and the one row stays.
-- Not SECURITY DEFINER: current_user must be the role making the change.
-- Raises AS008 (settings locked).
CREATE OR REPLACE FUNCTION public.astegni_on_settings_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') OR NOT pg_has_role(current_user,
            (SELECT d.datdba FROM pg_database AS d WHERE d.datname = current_database()), 'MEMBER') THEN
        PERFORM public.astegni_raise('AS008',
            format('schedule_settings cannot be changed by %s (%s)', current_user, TG_OP),
            jsonb_build_object('role', current_user, 'operation', TG_OP),
            'The database owner''s role may UPDATE the one row of schedule_settings; nobody may delete it.');
    END IF;
    RETURN CASE WHEN TG_LEVEL = 'ROW' THEN NEW END;
END
$$;
