-- Revision 0005, before its functions are installed: the DDL they need (tables, columns, types,
-- constraints). Only this comment when there is none.

-- ==== A tutor's sessions by time: the index every listing by tutor and time reads ====
-- An operator may have built it ahead with CREATE INDEX CONCURRENTLY (docs/adopting.md): one of this
-- name and definition is adopted as it is; one that differs, or a failed concurrent build (INVALID),
-- stops the upgrade by name rather than being used or built over.
DO $$
DECLARE
    v_index regclass := to_regclass('public.sessions_tutor_starts_at');
    v_definition text;
    v_valid boolean;
BEGIN
    IF v_index IS NULL THEN
        CREATE INDEX sessions_tutor_starts_at ON public.sessions (tutor_id, starts_at);
        RETURN;
    END IF;
    SELECT pg_get_indexdef(i.indexrelid), i.indisvalid INTO v_definition, v_valid
    FROM pg_index AS i WHERE i.indexrelid = v_index;
    IF v_definition IS DISTINCT FROM
            'CREATE INDEX sessions_tutor_starts_at ON public.sessions USING btree (tutor_id, starts_at)' THEN
        RAISE EXCEPTION 'public.sessions_tutor_starts_at exists but is not the index revision 0005 makes: %',
            coalesce(v_definition, 'not an index')
            USING HINT = 'Drop it (DROP INDEX CONCURRENTLY public.sessions_tutor_starts_at), or build it as '
                         'CREATE INDEX CONCURRENTLY sessions_tutor_starts_at ON public.sessions '
                         '(tutor_id, starts_at), and upgrade again.';
    END IF;
    IF NOT v_valid THEN
        RAISE EXCEPTION 'index public.sessions_tutor_starts_at is INVALID (a CREATE INDEX CONCURRENTLY that failed)'
            USING HINT = 'Drop it (DROP INDEX CONCURRENTLY public.sessions_tutor_starts_at), build it again '
                         'CONCURRENTLY, and upgrade again.';
    END IF;
END
$$;
-- ==== Calendar feeds: subscription links, one per student, parent or tutor (docs/calendar.md) ====

-- A link's token is random and given out once, in its URL; only its SHA-256 is kept, so this table
-- leaks no working link. No client role reads it: the app resolves a token through
-- astegni_calendar_feed, an admin issues and revokes through astegni_calendar_link and
-- astegni_revoke_calendar_links. feed_etag and feed_changed_at: the feed's last ETag and when it
-- first had it (its Last-Modified), kept by astegni_calendar_changed.
CREATE TABLE astegni_calendar_links (
    id serial PRIMARY KEY,
    owner_kind text NOT NULL CHECK (owner_kind IN ('student', 'parent', 'tutor')),
    owner_id integer NOT NULL,
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    feed_etag text,
    feed_changed_at timestamptz
);
-- An owner's live links, which a revocation ends.
CREATE INDEX astegni_calendar_links_owner_idx ON astegni_calendar_links (owner_kind, owner_id)
    WHERE revoked_at IS NULL;
-- A feed lists a student's requests by each way a request names its students (astegni_request_students):
-- requested_to_id has an index already; the requesting student's own and the roster's are these.
CREATE INDEX requested_sessions_requester_idx ON requested_sessions (requester_id)
    WHERE requester_type = 'student' AND requested_to_id IS NULL;
CREATE INDEX requested_session_students_student_idx ON requested_session_students (student_profile_id);
-- ==== Email (astegni mail): the recipients the mailer could not reach, and why ====
-- One row per event and recipient refused by the SMTP server, or skipped for having no address (user_id
-- NULL: a student profile with no user; address NULL: no email). Written again, never duplicated, when
-- an event is mailed a second time (a restart before its cursor moved).
CREATE TABLE astegni_mail_refusals (
    event_id bigint NOT NULL REFERENCES astegni_events (id) ON DELETE CASCADE,
    user_id integer,
    address text,
    reason text NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT astegni_mail_refusals_recipient_key UNIQUE NULLS NOT DISTINCT (event_id, user_id, address)
);
-- Edits before accepting: the occurrences a tutor leaves out or moves in the step that accepts.
-- An edit of one date: left out (no times) or moved to these times on its own day (astegni_edits).
CREATE TYPE astegni_edit AS (session_date date, start_time time, end_time time);
-- The edits astegni_accept hands to the acceptance its UPDATE triggers, in the same transaction
-- (staged_by): written by astegni_stage_edits just before the UPDATE, checked by astegni_accept_requests,
-- applied and deleted by astegni_apply_acceptance. No client role writes it.
CREATE TABLE acceptance_edits (
    request_id integer NOT NULL REFERENCES requested_sessions (id) ON DELETE CASCADE,
    session_date date NOT NULL,
    start_time time,
    end_time time,
    staged_by bigint NOT NULL DEFAULT txid_current(),
    PRIMARY KEY (request_id, session_date),
    CHECK ((start_time IS NULL) = (end_time IS NULL))
);
-- A left-out occurrence is recorded as skipped, 'tutor_edit': nothing makes it later.
ALTER TABLE skipped_occurrences
    DROP CONSTRAINT skipped_occurrences_reason_check,
    ADD CONSTRAINT skipped_occurrences_reason_check
        CHECK (reason IN ('past', 'dst_gap', 'conflict', 'time_off', 'tutor_edit'));

-- ==== Listeners miss no event: events read in the order of the transactions that wrote them ====
-- An event's id is drawn when it is inserted, not when its transaction commits: a listener that had read
-- up to id N would never see an N - 1 that committed later. Each event now records its transaction
-- (xact); listen reads only the events of transactions older than every one still running (below the
-- xmin of its snapshot: those can gain no more rows), in (xact, id) order, and a listener's place is
-- that pair. Events written before this revision keep xact 0: all committed, read in id order. A
-- listener's first start also keeps its snapshot (started): the events visible then are not its own.
ALTER TABLE astegni_events ADD COLUMN xact bigint NOT NULL DEFAULT 0;
ALTER TABLE astegni_events ALTER COLUMN xact SET DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX astegni_events_xact_id ON astegni_events (xact, id);
ALTER TABLE astegni_event_cursors
    ADD COLUMN last_xact bigint NOT NULL DEFAULT 0,
    ADD COLUMN started text;
