-- One occurrence after the tutor's edit of its date, if any (p_edited): left out (no new times), it is
-- skipped with reason 'tutor_edit'; moved to p_new_start-p_new_end on its own day, its instants,
-- duration and skip reason ('past', 'dst_gap') are those of the new times, judged as
-- astegni_occurrences judges. Without an edit, the occurrence as it is.
-- Shared by astegni_apply_acceptance and preview_sessions, so that a preview with edits is what the
-- acceptance with the same edits makes. Pure SQL, inlined.
CREATE OR REPLACE FUNCTION public.astegni_edit_occurrence(
    p_session_date date, p_starts_at timestamptz, p_ends_at timestamptz, p_duration integer,
    p_skip_reason text, p_start_time time, p_end_time time, p_edited boolean, p_new_start time,
    p_new_end time, p_zone text, p_at timestamptz)
RETURNS TABLE (session_date date, starts_at timestamptz, ends_at timestamptz, duration integer,
               skip_reason text, start_time time, end_time time)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT p_session_date, m.starts_at, m.ends_at,
       CASE WHEN p_new_start IS NULL THEN p_duration
            ELSE (extract(epoch FROM m.ends_at - m.starts_at) / 60)::integer END,
       CASE WHEN p_edited AND p_new_start IS NULL THEN 'tutor_edit'
            WHEN p_new_start IS NULL THEN p_skip_reason
            WHEN m.starts_at <= p_at THEN 'past'
            WHEN m.ends_at <= m.starts_at THEN 'dst_gap' END,
       coalesce(p_new_start, p_start_time), coalesce(p_new_end, p_end_time)
FROM (SELECT CASE WHEN p_new_start IS NULL THEN p_starts_at
                  ELSE public.astegni_starts_at(p_session_date, p_new_start, p_zone) END AS starts_at,
             CASE WHEN p_new_start IS NULL THEN p_ends_at
                  ELSE public.astegni_ends_at(p_session_date, p_new_start, p_new_end, p_zone) END AS ends_at
     ) AS m
$$;
