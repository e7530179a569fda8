-- What the extension at p_at has to do for the tutors after p_after up to p_until, in tutor id order:
-- the series whose horizon has moved (closing false), the requests whose time off is gone and whose
-- held-back occurrences are still ahead (closing false), and the ended series whose last date has
-- passed, whose students leave (closing true). Read once to find the tutors to lock and again under
-- their locks, to decide.
CREATE OR REPLACE FUNCTION public.astegni_extension_work(p_at timestamptz, p_after integer, p_until integer)
RETURNS TABLE (tutor_id integer, request_id integer, closing boolean)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
SELECT s.tutor_id, s.request_id, false
FROM public.series AS s
JOIN public.requested_sessions AS r ON r.id = s.request_id
JOIN public.tutor_profiles AS t ON t.id = s.tutor_id
CROSS JOIN public.schedule_settings AS g
WHERE s.tutor_id > p_after AND s.tutor_id <= p_until
  AND r.status = 'accepted'
  AND public.astegni_horizon(p_at, t.timezone, s.window_start, g.weeks_horizon) > s.made_until
  AND (least(s.window_end, s.last_date) IS NULL OR s.made_until < least(s.window_end, s.last_date) + 1)
UNION
SELECT r.tutor_id, k.request_id, false
FROM public.skipped_occurrences AS k
JOIN public.requested_sessions AS r ON r.id = k.request_id
WHERE k.reason = 'time_off' AND k.starts_at > p_at AND r.status = 'accepted'
  AND r.tutor_id > p_after AND r.tutor_id <= p_until
  AND NOT EXISTS (SELECT FROM public.tutor_time_off AS o
                  WHERE o.tutor_id = r.tutor_id AND o.during && tstzrange(k.starts_at, k.ends_at))
UNION
SELECT s.tutor_id, s.request_id, true
FROM public.series AS s
JOIN public.tutor_profiles AS t ON t.id = s.tutor_id
WHERE s.tutor_id > p_after AND s.tutor_id <= p_until
  AND s.closed_at IS NULL AND s.last_date < (p_at AT TIME ZONE t.timezone)::date
ORDER BY 1, 2
$$;
