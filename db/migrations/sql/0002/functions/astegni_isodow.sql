-- ISO weekday (1 = Monday) of a date, in integer arithmetic (0001-01-01 was a Monday).
CREATE OR REPLACE FUNCTION public.astegni_isodow(p_date date)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT (p_date - date '0001-01-01') % 7 + 1
$$;
