-- Records the ETag a live link's feed is served with now: when it differs from the last one, the feed
-- changed now (its Last-Modified). Returns when the feed last changed; NULL for an unknown or revoked
-- link. Called by the app only when astegni_calendar_feed gave another ETag.
-- SECURITY DEFINER: the app writes a link's feed state only through here, for the token it holds.
CREATE OR REPLACE FUNCTION public.astegni_calendar_changed(p_token_hash bytea, p_etag text)
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_changed_at timestamptz;
BEGIN
    -- Under the row's lock: a concurrent request that recorded this ETag first keeps its time.
    UPDATE public.astegni_calendar_links AS l
    SET feed_changed_at = CASE WHEN l.feed_etag IS DISTINCT FROM p_etag THEN now()
                               ELSE l.feed_changed_at END,
        feed_etag = p_etag
    WHERE l.token_hash = p_token_hash AND l.revoked_at IS NULL
    RETURNING l.feed_changed_at INTO v_changed_at;
    RETURN v_changed_at;
END
$$;
