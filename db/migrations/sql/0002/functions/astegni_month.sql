-- Month number (1 = January) of a month name in any case, trimmed, full or three letters; NULL if unknown.
CREATE OR REPLACE FUNCTION public.astegni_month(p_name text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE lower(btrim(p_name))
    WHEN 'january' THEN 1 WHEN 'jan' THEN 1
    WHEN 'february' THEN 2 WHEN 'feb' THEN 2
    WHEN 'march' THEN 3 WHEN 'mar' THEN 3
    WHEN 'april' THEN 4 WHEN 'apr' THEN 4
    WHEN 'may' THEN 5
    WHEN 'june' THEN 6 WHEN 'jun' THEN 6
    WHEN 'july' THEN 7 WHEN 'jul' THEN 7
    WHEN 'august' THEN 8 WHEN 'aug' THEN 8
    WHEN 'september' THEN 9 WHEN 'sep' THEN 9
    WHEN 'october' THEN 10 WHEN 'oct' THEN 10
    WHEN 'november' THEN 11 WHEN 'nov' THEN 11
    WHEN 'december' THEN 12 WHEN 'dec' THEN 12
END
$$;
