-- The date written as YYYY-MM-DD (surrounding blanks allowed); NULL if unparsable or impossible (2027-02-30).
-- Never raises, so that validation can name the bad value instead of failing on a cast.
CREATE OR REPLACE FUNCTION public.astegni_parse_date(p_text text)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN s ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
    CASE WHEN substr(s, 1, 4)::int >= 1
          AND substr(s, 6, 2)::int BETWEEN 1 AND 12
          AND substr(s, 9, 2)::int BETWEEN 1 AND extract(day FROM
                make_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, 1) + interval '1 month - 1 day')
    THEN make_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int)
    END
END
FROM (SELECT btrim(p_text) AS s) AS t
$$;
