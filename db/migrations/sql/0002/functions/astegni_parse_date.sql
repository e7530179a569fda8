-- The date written as YYYY-MM-DD (surrounding blanks allowed); NULL if unparsable or impossible (2027-02-30).
-- Never raises, so that validation can name the bad value instead of failing on a cast.
-- One expression without FROM, so that the planner inlines it (a call costs ~10 µs otherwise); nested
-- CASEs keep each cast behind the test that makes it safe, at run time and in constant folding alike.
CREATE OR REPLACE FUNCTION public.astegni_parse_date(p_text text)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN btrim(p_text) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
    CASE WHEN substr(btrim(p_text), 1, 4)::int >= 1 AND substr(btrim(p_text), 6, 2)::int BETWEEN 1 AND 12 THEN
        CASE WHEN substr(btrim(p_text), 9, 2)::int BETWEEN 1 AND extract(day FROM
                  make_date(substr(btrim(p_text), 1, 4)::int, substr(btrim(p_text), 6, 2)::int, 1)
                  + interval '1 month - 1 day')
        THEN make_date(substr(btrim(p_text), 1, 4)::int, substr(btrim(p_text), 6, 2)::int,
                       substr(btrim(p_text), 9, 2)::int)
        END
    END
END
$$;
