-- ISO weekday (1 = Monday) of a weekday name in any case, trimmed, full or three letters; NULL if unknown.
CREATE OR REPLACE FUNCTION public.astegni_weekday(p_name text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE lower(btrim(p_name))
    WHEN 'monday' THEN 1 WHEN 'mon' THEN 1
    WHEN 'tuesday' THEN 2 WHEN 'tue' THEN 2
    WHEN 'wednesday' THEN 3 WHEN 'wed' THEN 3
    WHEN 'thursday' THEN 4 WHEN 'thu' THEN 4
    WHEN 'friday' THEN 5 WHEN 'fri' THEN 5
    WHEN 'saturday' THEN 6 WHEN 'sat' THEN 6
    WHEN 'sunday' THEN 7 WHEN 'sun' THEN 7
END
$$;
