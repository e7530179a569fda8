-- The occurrences accepting request r now would consider, in its tutor's zone, before any edit: a
-- recurring request's first stretch up to its horizon, or its specific dates (astegni_occurrences,
-- with the arguments astegni_apply_acceptance gives it).
-- Used by preview_sessions and astegni_check_edits.
CREATE OR REPLACE FUNCTION public.astegni_request_occurrences(r public.requested_sessions)
RETURNS TABLE (session_date date, starts_at timestamptz, ends_at timestamptz, duration integer,
               skip_reason text)
LANGUAGE sql STABLE
AS $$
SELECT o.*
FROM public.tutor_profiles AS t
CROSS JOIN public.schedule_settings AS g
CROSS JOIN LATERAL (SELECT public.astegni_schedule_of(r) AS schedule,
                           (now() AT TIME ZONE t.timezone)::date AS today) AS s
LEFT JOIN LATERAL public.astegni_series_window(s.schedule, s.today) AS w ON true
CROSS JOIN LATERAL public.astegni_occurrences(
    s.schedule, t.timezone, now(), now() AT TIME ZONE t.timezone,
    public.astegni_horizon(now(), t.timezone, w.window_start, g.weeks_horizon), w.window_start,
    w.window_end) AS o
WHERE t.id = r.tutor_id
$$;
