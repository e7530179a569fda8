-- The wall-clock time written as HH:MM or HH:MM:SS (surrounding blanks allowed, 24:00 included for
-- astegni_times_problem to refuse by name); NULL if unparsable. Never raises, so that validation can
-- name the bad value instead of failing on a cast.
CREATE OR REPLACE FUNCTION public.astegni_parse_time(p_text text)
RETURNS time
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN btrim(p_text) ~ '^(([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?|24:00(:00)?)$'
            THEN btrim(p_text)::time END
$$;
