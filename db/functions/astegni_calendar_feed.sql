-- The sessions of a calendar link's feed, from three months before now (UTC) on, cancelled ones
-- included: a tutor's own; a student's, those of every request enrolling them (astegni_request_students:
-- named, requesting, or on its roster); a parent's, those of each child in parent_profiles.children_ids.
-- One row per session in time order, or one row with NULL session columns when there is none; no row
-- for a token hash that is unknown or revoked. Each row also says whose feed it is and the feed's last
-- ETag and change time (astegni_calendar_changed). Every path is an index scan (a test checks it).
-- SECURITY DEFINER: the app resolves a token only through here, and reads nothing of the link table.
CREATE OR REPLACE FUNCTION public.astegni_calendar_feed(p_token_hash bytea)
RETURNS TABLE (owner_kind text, owner_id integer, feed_etag text, feed_changed_at timestamptz,
               id integer, request_id integer, course_id integer, tutor_id integer, timezone text,
               session_date date, starts_at timestamptz, ends_at timestamptz, status text, topics json,
               updated_at timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET TimeZone = 'UTC'  -- "three months before" counts months on UTC's calendar, whatever the client's
AS $$
#variable_conflict use_column
DECLARE
    v_since timestamptz := now() - interval '3 months';
BEGIN
    RETURN QUERY
    WITH link AS (
        SELECT l.owner_kind, l.owner_id, l.feed_etag, l.feed_changed_at
        FROM public.astegni_calendar_links AS l
        WHERE l.token_hash = p_token_hash AND l.revoked_at IS NULL
    ),
    students AS (
        SELECT link.owner_id AS student_id FROM link WHERE link.owner_kind = 'student'
        UNION
        SELECT child.id
        FROM link
        JOIN public.parent_profiles AS p ON p.id = link.owner_id
        CROSS JOIN unnest(p.children_ids) AS child (id)
        WHERE link.owner_kind = 'parent'
    ),
    requests AS (
        SELECT r.id FROM public.requested_sessions AS r
        WHERE r.requested_to_id IN (SELECT st.student_id FROM students AS st)
        UNION
        SELECT r.id
        FROM students AS st
        JOIN public.student_profiles AS sp ON sp.id = st.student_id
        JOIN public.requested_sessions AS r
          ON r.requester_id = sp.user_id AND r.requester_type = 'student' AND r.requested_to_id IS NULL
        UNION
        SELECT rs.requested_session_id FROM public.requested_session_students AS rs
        WHERE rs.student_profile_id IN (SELECT st.student_id FROM students AS st)
    ),
    feed AS (
        SELECT s.* FROM public.sessions AS s
        WHERE s.request_id IN (SELECT q.id FROM requests AS q) AND s.starts_at >= v_since
        UNION ALL
        SELECT s.*
        FROM link JOIN public.sessions AS s ON s.tutor_id = link.owner_id AND s.starts_at >= v_since
        WHERE link.owner_kind = 'tutor'
    )
    SELECT link.owner_kind, link.owner_id, link.feed_etag, link.feed_changed_at,
           f.id, f.request_id, f.enrolled_courses_id, f.tutor_id, t.timezone, f.session_date,
           f.starts_at, f.ends_at, coalesce(f.status, 'scheduled')::text, coalesce(f.topics, '[]'),
           coalesce(f.updated_at AT TIME ZONE 'UTC', f.starts_at)  -- the app's naive UTC stamp
    FROM link
    LEFT JOIN (feed AS f JOIN public.tutor_profiles AS t ON t.id = f.tutor_id) ON true
    ORDER BY f.starts_at, f.id;
END
$$;
