-- Records the ETag a live link's feed is served with now: when it differs from the last one, the feed
-- changed now (its Last-Modified), and at least a second after its last change, since HTTP dates
-- count whole seconds: a client holding the feed from the same second as a change is sent it again.
-- Returns when the feed last changed; NULL for an unknown or revoked link. Called by the app only when
-- astegni_calendar_feed gave another ETag.
-- SECURITY DEFINER: the app writes a link's feed state only through here, for the token it holds.
CREATE OR REPLACE FUNCTION public.astegni_calendar_changed(p_token_hash bytea, p_etag text)
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET TimeZone = 'UTC'  -- whole seconds of UTC, as HTTP dates count them
AS $$
DECLARE
    v_changed_at timestamptz;
BEGIN
    -- Under the row's lock: a concurrent request that recorded this ETag first keeps its time.
    UPDATE public.astegni_calendar_links AS l
    SET feed_changed_at = CASE WHEN l.feed_etag IS NOT DISTINCT FROM p_etag THEN l.feed_changed_at
                               ELSE greatest(now(), date_trunc('second', l.feed_changed_at)
                                                    + interval '1 second') END,
        feed_etag = p_etag
    WHERE l.token_hash = p_token_hash AND l.revoked_at IS NULL
    RETURNING l.feed_changed_at INTO v_changed_at;
    RETURN v_changed_at;
END
$$;
