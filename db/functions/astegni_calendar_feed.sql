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
    v_link public.astegni_calendar_links;
    v_students integer[];  -- the student's own id, or the parent's children; NULL for a tutor
    v_requests integer[];
BEGIN
    SELECT * INTO v_link FROM public.astegni_calendar_links AS l
    WHERE l.token_hash = p_token_hash AND l.revoked_at IS NULL;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_students := CASE v_link.owner_kind
        WHEN 'student' THEN ARRAY[v_link.owner_id]
        WHEN 'parent' THEN (SELECT p.children_ids FROM public.parent_profiles AS p WHERE p.id = v_link.owner_id)
    END;
    -- Each statement looks rows up by key, so that every step is an index scan: the requests enrolling
    -- one of the students, each of the three ways, then their sessions (or the tutor's).
    v_requests := ARRAY(
        SELECT r.id FROM public.requested_sessions AS r WHERE r.requested_to_id = ANY (v_students)
        UNION
        SELECT r.id FROM public.requested_sessions AS r
        WHERE r.requester_id = ANY (ARRAY(SELECT sp.user_id FROM public.student_profiles AS sp
                                          WHERE sp.id = ANY (v_students)))
          AND r.requester_type = 'student' AND r.requested_to_id IS NULL
        UNION
        SELECT rs.requested_session_id FROM public.requested_session_students AS rs
        WHERE rs.student_profile_id = ANY (v_students));
    RETURN QUERY
    SELECT v_link.owner_kind, v_link.owner_id, v_link.feed_etag, v_link.feed_changed_at,
           s.id, s.request_id, s.enrolled_courses_id, s.tutor_id, t.timezone, s.session_date,
           s.starts_at, s.ends_at, coalesce(s.status, 'scheduled')::text, coalesce(s.topics, '[]'),
           coalesce(s.updated_at AT TIME ZONE 'UTC', s.starts_at)  -- the app's naive UTC stamp
    FROM public.sessions AS s
    JOIN public.tutor_profiles AS t ON t.id = s.tutor_id
    WHERE s.starts_at >= v_since
      AND (s.tutor_id = CASE WHEN v_link.owner_kind = 'tutor' THEN v_link.owner_id END
           OR s.request_id = ANY (v_requests))
    ORDER BY s.starts_at, s.id;
    IF NOT FOUND THEN
        owner_kind := v_link.owner_kind;
        owner_id := v_link.owner_id;
        feed_etag := v_link.feed_etag;
        feed_changed_at := v_link.feed_changed_at;
        RETURN NEXT;  -- the link is live, its feed empty
    END IF;
END
$$;
