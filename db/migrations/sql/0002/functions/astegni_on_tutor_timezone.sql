-- Trigger function (BEFORE INSERT or UPDATE OF timezone on tutor_profiles): the zone must be an IANA
-- name this server knows, spelled exactly (time_zone_names, filled from pg_timezone_names).
-- Raises AS009 (invalid time zone).
CREATE OR REPLACE FUNCTION public.astegni_on_tutor_timezone()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM public.time_zone_names AS z WHERE z.name = NEW.timezone) THEN
        PERFORM public.astegni_raise('AS009',
            format('%L is not an IANA time zone name', NEW.timezone),
            jsonb_build_object('tutor_id', NEW.id, 'field', 'timezone', 'value', NEW.timezone),
            'Use a name such as Africa/Addis_Ababa or Europe/Berlin (SELECT name FROM time_zone_names).');
    END IF;
    RETURN NEW;
END
$$;
