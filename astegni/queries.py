"""Every statement the Python layer sends, in one place and named; the comment above each says what it
does. Statements that take identifiers (database, column names) are psycopg `sql.SQL` templates."""

from psycopg import sql

# Accepts a pending request (of tutor_id, when given), with the tutor's edits (dates left out, dates moved):
# the rule makes its sessions; one row of what it made.
ACCEPT = """
SELECT * FROM astegni_accept(%(request_id)s::integer, %(tutor_id)s::integer, %(without)s::date[],
                             %(moves)s::jsonb)
"""
# Rejects a pending request (of tutor_id, when given) with a reason for the student.
REJECT = "SELECT * FROM astegni_reject(%(request_id)s::integer, %(reason)s::text, %(tutor_id)s::integer)"
# Cancels an accepted request: its sessions not yet started become 'cancelled'.
CANCEL = "SELECT * FROM astegni_cancel(%(request_id)s::integer, %(reason)s::text, %(tutor_id)s::integer)"
# What accepting a pending request now (with the same edits) would do, one row per occurrence; writes nothing.
PREVIEW = """
SELECT * FROM preview_sessions(%(request_id)s::integer, %(without)s::date[], %(moves)s::jsonb)
"""

# Series (docs/series.md).
# Brings every live series to its horizon now, committing batch by batch (a procedure: outside any
# transaction block); what the run made.
EXTEND = "CALL astegni_extend_series()"
# Ends a series after last_date (of tutor_id, when given): its later sessions not yet started are
# cancelled; their number.
END_SERIES = """
SELECT astegni_end_series(%(request_id)s::integer, %(last_date)s::date, %(reason)s::text,
                          %(tutor_id)s::integer) AS sessions_cancelled
"""
# Changes a series' days and times from a date on ("this and all following"), of tutor_id when given;
# the plan it applied.
RESCHEDULE = """
SELECT * FROM astegni_reschedule(%(request_id)s::integer, %(from_date)s::date, %(days)s::jsonb,
                                 %(start_time)s::time, %(end_time)s::time, %(tutor_id)s::integer)
"""
# What the same reschedule would do, row by row; writes nothing.
PREVIEW_RESCHEDULE = """
SELECT * FROM preview_reschedule(%(request_id)s::integer, %(from_date)s::date, %(days)s::jsonb,
                                 %(start_time)s::time, %(end_time)s::time, %(tutor_id)s::integer)
"""
# Records a tutor's time off (the rule cancels the sessions inside); the row and how many it cancelled.
ADD_TIME_OFF = """
SELECT * FROM astegni_add_time_off(%(tutor_id)s::integer, %(starts_at)s::timestamptz,
                                   %(ends_at)s::timestamptz, %(reason)s::text)
"""
# Removes a time off (of tutor_id, when given); the next extension makes again what it held back.
REMOVE_TIME_OFF = ("SELECT astegni_remove_time_off(%(time_off_id)s::integer, %(tutor_id)s::integer)"
                   " AS removed")
# A tutor's time off, in time order.
TIME_OFF = """
SELECT id, tutor_id, lower(during) AS starts_at, upper(during) AS ends_at, reason, created_at
FROM tutor_time_off WHERE tutor_id = %(tutor_id)s::integer ORDER BY lower(during), id
"""

# Subscribes to the rule's notifications (acceptances, cancellations, series' changes).
LISTEN = "LISTEN astegni_sessions"
# listen's check at its start that notifications reach its connection: a channel of its own (so no
# other listener of astegni_sessions is woken by it), and a payload no other check sends.
LISTEN_CHECK = "LISTEN astegni_listen_check"
NOTIFY_CHECK = "SELECT pg_notify('astegni_listen_check', %(payload)s)"
UNLISTEN_CHECK = "UNLISTEN astegni_listen_check"
# Listeners read events in (xact, id) order, and only those of transactions older than every one still
# running (SETTLED: the xmin of the statement's snapshot), which can gain no more rows: an event that
# commits after a later-numbered one is still read, never passed over. The events visible at a
# listener's first start (the snapshot `started`) are not its own: it reads what happens from then on.
SETTLED = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
# Where a listener starts: from now on (NOW); a named one where it stopped last time, its place
# recorded at its first start (PLACE), so that a first run that handed nothing on still resumes there.
NOW = f"SELECT {SETTLED} AS last_xact, 0::bigint AS last_event_id, pg_current_snapshot()::text AS started"
PLACE = f"""
INSERT INTO astegni_event_cursors AS c (listener, last_xact, last_event_id, started)
VALUES (%(listener)s, {SETTLED}, 0, pg_current_snapshot()::text)
ON CONFLICT (listener) DO UPDATE SET listener = c.listener
RETURNING c.last_xact, c.last_event_id, c.started
"""
# The settled events after the last one seen, in the order above.
EVENTS_AFTER = f"""
SELECT xact, id, event, request_id, tutor_id, student_id, sessions, first_starts_at, last_starts_at, note
FROM astegni_events
WHERE (xact, id) > (%(last_xact)s, %(last_event_id)s) AND xact < {SETTLED}
  AND NOT coalesce(pg_visible_in_snapshot(xact::text::xid8, %(started)s::pg_snapshot), false)
ORDER BY xact, id LIMIT 1000
"""
# A named listener's place, kept after each event it has handed on.
EVENTS_SEEN = """
UPDATE astegni_event_cursors SET last_xact = %(last_xact)s, last_event_id = %(last_event_id)s
WHERE listener = %(listener)s
RETURNING last_event_id
"""
# Who is emailed about a request: the user of every student it enrols (as the rule), and the parent who
# made it; an address NULL when the profile has no user or the user no email.
MAIL_RECIPIENTS = """
SELECT p.user_id, nullif(btrim(u.email), '') AS address, p.role, p.student_id
FROM (SELECT sp.user_id, 'student' AS role, s.id AS student_id
      FROM requested_sessions AS r
      CROSS JOIN LATERAL astegni_request_students(r) AS s (id)
      LEFT JOIN student_profiles AS sp ON sp.id = s.id
      WHERE r.id = %(request_id)s
      UNION ALL
      SELECT r.requester_id, 'parent', NULL
      FROM requested_sessions AS r
      WHERE r.id = %(request_id)s AND r.requester_type = 'parent') AS p
LEFT JOIN users AS u ON u.id = p.user_id
ORDER BY p.role DESC, p.student_id, p.user_id
"""
# The reason a cancelled request gives (the event carries none).
MAIL_CANCELLED_REASON = "SELECT cancelled_reason FROM requested_sessions WHERE id = %(request_id)s"
# A recipient the SMTP server refused, or that has no address: recorded once per event and recipient.
MAIL_REFUSED = """
INSERT INTO astegni_mail_refusals (event_id, user_id, address, reason)
VALUES (%(event_id)s, %(user_id)s, %(address)s, %(reason)s)
ON CONFLICT ON CONSTRAINT astegni_mail_refusals_recipient_key
DO UPDATE SET reason = excluded.reason, refused_at = now()
RETURNING event_id
"""

# Sessions matching every filter given; a student's are those of the requests enrolling them (as the rule).
# Each filter is an index's: a tutor's by (tutor_id, starts_at), a request's or a student's by
# (request_id, session_date) of the student's requests, a course's by enrolled_courses_id; none reads the
# whole table.
SESSIONS = """
SELECT s.id, s.request_id, s.enrolled_courses_id AS course_id, s.tutor_id, t.timezone,
       s.session_date, s.starts_at, s.ends_at, coalesce(s.status, 'scheduled') AS status,
       coalesce(s.topics, '[]') AS topics,
       coalesce(s.updated_at AT TIME ZONE 'UTC', s.starts_at) AS updated_at  -- the app's naive UTC stamp
FROM sessions AS s
JOIN tutor_profiles AS t ON t.id = s.tutor_id
WHERE (%(tutor_id)s::integer IS NULL OR s.tutor_id = %(tutor_id)s)
  AND (%(request_id)s::integer IS NULL OR s.request_id = %(request_id)s)
  AND (%(course_id)s::integer IS NULL OR s.enrolled_courses_id = %(course_id)s)
  AND (%(student_id)s::integer IS NULL
       OR s.request_id = ANY (ARRAY(  -- a few requests, looked up first: their sessions by index
           SELECT r.id FROM requested_sessions AS r
           WHERE astegni_request_student(r.requested_to_id, r.requester_type, r.requester_id)
                 = %(student_id)s)))
  AND (%(start)s::timestamptz IS NULL OR s.starts_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR s.starts_at < %(end)s)
ORDER BY s.starts_at, s.id
"""

# Calendar feeds (astegni/feeds.py): a live link's owner, its feed's last ETag and change time, and
# its sessions (one row with NULL session columns when there is none; no row for an unknown token).
CALENDAR_FEED = "SELECT * FROM astegni_calendar_feed(%(token_hash)s::bytea)"
# Records the ETag a feed is served with now; when the feed last changed (NULL: no live link).
CALENDAR_CHANGED = ("SELECT astegni_calendar_changed(%(token_hash)s::bytea, %(etag)s::text)"
                    " AS changed_at")
# Issues a link of an owner, given its token's hash; its id and issue time.
CALENDAR_LINK = """
SELECT * FROM astegni_calendar_link(%(owner_kind)s::text, %(owner_id)s::integer, %(token_hash)s::bytea)
"""
# Revokes every live link of an owner; how many.
REVOKE_CALENDAR_LINKS = ("SELECT astegni_revoke_calendar_links(%(owner_kind)s::text, %(owner_id)s::integer)"
                         " AS revoked")

# A tutor's IANA zone; no row when there is no such tutor.
TUTOR_ZONE = "SELECT timezone FROM tutor_profiles WHERE id = %(tutor_id)s::integer"
# A row when the student profile exists (astegni sessions/ical refuse an unknown id).
STUDENT_EXISTS = "SELECT id FROM student_profiles WHERE id = %(student_id)s::integer"
# A row when the enrolled course exists (astegni ical refuses an unknown id).
COURSE_EXISTS = "SELECT id FROM enrolled_courses WHERE id = %(course_id)s::integer"
# The zone of a request's tutor.
REQUEST_ZONE = """
SELECT t.timezone FROM requested_sessions AS r JOIN tutor_profiles AS t ON t.id = r.tutor_id
WHERE r.id = %(request_id)s::integer
"""
# Whether the database has ever been migrated (or stamped) by this project: its own version table
# (migrations.VERSION_TABLE), never the app's alembic_version; whether this login may read it; the login,
# quoted; the client roles it is granted (NULL: neither).
MIGRATED = """
SELECT v IS NOT NULL AS migrated, v IS NOT NULL AND has_table_privilege(v, 'SELECT') AS readable,
       quote_ident(current_user) AS login,
       (SELECT string_agg(rolname, ' and ' ORDER BY rolname) FROM pg_roles
        WHERE rolname IN ('astegni_app', 'astegni_admin') AND pg_has_role(oid, 'USAGE')) AS roles
FROM to_regclass('astegni_alembic_version') AS t(v)
"""
# The database's revision of this project's migrations.
REVISION = "SELECT version_num FROM astegni_alembic_version"
# Revision 0001's up.sql has just created the baseline tables (an upgrade from nothing, never a stamp):
# recorded as the comment of this project's version table, which no revision drops (migrations.run_frozen).
BASELINE_MARK = "astegni: revision 0001 created the baseline tables here; they were not stamped"
BASELINE_CREATED = sql.SQL("COMMENT ON TABLE astegni_alembic_version IS {}").format(
    sql.Literal(BASELINE_MARK))
# Revision 0001's down.sql has dropped the baseline tables: the record goes with them.
BASELINE_DROPPED = "COMMENT ON TABLE astegni_alembic_version IS NULL"
# Whether this project created the baseline tables (BASELINE_CREATED), rather than stamped an app's own.
BASELINE_WAS_CREATED = """
SELECT coalesce(obj_description(to_regclass('astegni_alembic_version'), 'pg_class') = %(mark)s, false)
"""

# astegni db adopt: the baseline is built in a schema of its own, inside the dry run's transaction.
BASELINE_SCHEMA = "CREATE SCHEMA astegni_baseline; SET LOCAL search_path = astegni_baseline"
BASELINE_SCHEMA_END = "RESET search_path"
# astegni db adopt: the baseline's tables and columns the live database lacks or has otherwise.
BASELINE_DIFFERENCES = """
WITH baseline AS (
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END AS type
    FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relnamespace = 'astegni_baseline'::regnamespace AND c.relkind = 'r'
),
live AS (
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END AS type
    FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
),
missing_table AS (
    SELECT DISTINCT b.table FROM baseline AS b WHERE NOT EXISTS (SELECT FROM live WHERE live.table = b.table)
)
SELECT t.table, NULL AS column, 'table' AS baseline, NULL AS live FROM missing_table AS t
UNION ALL
SELECT b.table, b.column, b.type, l.type
FROM baseline AS b
LEFT JOIN live AS l ON l.table = b.table AND l.column = b.column
WHERE b.table NOT IN (SELECT t.table FROM missing_table AS t) AND l.type IS DISTINCT FROM b.type
ORDER BY 1, 2 NULLS FIRST
"""
# astegni db adopt: for each baseline table or column the live database lacks, the statements that add
# it as the baseline defines it, idempotent (IF NOT EXISTS, OR REPLACE), one row each in the order they
# run (step). Run under the baseline's search_path, so that the names the catalog prints come out
# unqualified and name the live tables; `refs` lists the other missing tables a missing one references.
BASELINE_REPAIRS = """
WITH baseline AS (
    SELECT c.oid, c.relname FROM pg_class AS c
    WHERE c.relnamespace = 'astegni_baseline'::regnamespace AND c.relkind = 'r'
),
live AS (
    SELECT c.relname, a.attname
    FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
),
missing_table AS (
    SELECT b.oid, b.relname FROM baseline AS b WHERE b.relname NOT IN (SELECT live.relname FROM live)
),
missing_column AS (
    SELECT b.oid, b.relname, a.attnum, a.attname
    FROM baseline AS b JOIN pg_attribute AS a ON a.attrelid = b.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE b.oid NOT IN (SELECT m.oid FROM missing_table AS m)
      AND NOT EXISTS (SELECT FROM live WHERE live.relname = b.relname AND live.attname = a.attname)
),
-- What stands for each missing object: its table, and its column when the table is there.
target AS (
    SELECT m.oid, m.relname, NULL::smallint AS attnum, NULL::name AS attname FROM missing_table AS m
    UNION ALL
    SELECT c.oid, c.relname, c.attnum, c.attname FROM missing_column AS c
),
column_definition AS (
    SELECT a.attrelid AS oid, a.attnum,
           format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod))
           || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
           || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END AS definition
    FROM pg_attribute AS a LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid IN (SELECT b.oid FROM baseline AS b) AND a.attnum > 0 AND NOT a.attisdropped
),
-- The sequences of serial columns, created before their column and owned by it after.
owned_sequence AS (
    SELECT dep.refobjid AS oid, dep.refobjsubid AS attnum,
           format(E'CREATE SEQUENCE IF NOT EXISTS %I\n    AS %s START WITH %s INCREMENT BY %s MINVALUE %s'
                  ' MAXVALUE %s CACHE %s%s;', s.relname, format_type(q.seqtypid, NULL), q.seqstart,
                  q.seqincrement, q.seqmin, q.seqmax, q.seqcache,
                  CASE WHEN q.seqcycle THEN ' CYCLE' ELSE '' END) AS create_statement,
           format('ALTER SEQUENCE %I OWNED BY %I.%I;', s.relname, t.relname, a.attname) AS own_statement
    FROM pg_depend AS dep
    JOIN pg_class AS s ON s.oid = dep.objid AND s.relkind = 'S'
    JOIN pg_sequence AS q ON q.seqrelid = s.oid
    JOIN pg_class AS t ON t.oid = dep.refobjid
    JOIN pg_attribute AS a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
    WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
      AND dep.deptype = 'a' AND dep.refobjid IN (SELECT b.oid FROM baseline AS b)
),
-- A constraint or index goes with its table when the table is missing, else with the last of its
-- columns that is missing (none: the live table has them all, and it is not listed).
constraint_target AS (
    SELECT k.oid, k.conrelid, k.conname, k.contype, k.conindid,
           (SELECT max(c.attnum) FROM missing_column AS c
            WHERE c.oid = k.conrelid AND c.attnum = ANY (k.conkey)) AS attnum
    FROM pg_constraint AS k WHERE k.conrelid IN (SELECT b.oid FROM baseline AS b)
),
index_target AS (
    SELECT i.indexrelid, i.indrelid,
           (SELECT max(c.attnum) FROM missing_column AS c
            WHERE c.oid = i.indrelid AND c.attnum = ANY (i.indkey)) AS attnum
    FROM pg_index AS i WHERE i.indrelid IN (SELECT b.oid FROM baseline AS b)
      -- those of the primary key, unique and exclusion constraints come with their constraint
      AND NOT EXISTS (SELECT FROM pg_constraint AS k WHERE k.conindid = i.indexrelid
                        AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
),
statement AS (
    -- A missing table's trigger functions that the live database lacks.
    SELECT m.oid, NULL::smallint AS attnum, 1 AS step,
           regexp_replace(pg_get_functiondef(g.tgfoid), '^CREATE OR REPLACE FUNCTION astegni_baseline\\.',
                          'CREATE OR REPLACE FUNCTION ') || ';' AS statement
    FROM missing_table AS m JOIN pg_trigger AS g ON g.tgrelid = m.oid AND NOT g.tgisinternal
    JOIN pg_proc AS f ON f.oid = g.tgfoid
    WHERE NOT EXISTS (SELECT FROM pg_proc AS l WHERE l.pronamespace = 'public'::regnamespace
                        AND l.proname = f.proname AND l.proargtypes = f.proargtypes)
    UNION ALL
    SELECT s.oid, t.attnum, 2, s.create_statement
    FROM owned_sequence AS s JOIN target AS t ON t.oid = s.oid AND s.attnum = coalesce(t.attnum, s.attnum)
    UNION ALL
    SELECT m.oid, NULL, 3, format(E'CREATE TABLE IF NOT EXISTS %I (\n    %s\n);', m.relname, (
        SELECT string_agg(item, E',\n    ' ORDER BY place, number) FROM (
            SELECT 1 AS place, d.attnum AS number, d.definition AS item
            FROM column_definition AS d WHERE d.oid = m.oid
            UNION ALL
            SELECT 2, position(k.contype IN 'puxcf'), format(E'CONSTRAINT %I\n        %s', k.conname,
                                                              pg_get_constraintdef(k.oid, true))
            FROM pg_constraint AS k WHERE k.conrelid = m.oid AND k.contype IN ('p', 'u', 'x', 'c', 'f')
        ) AS items))
    FROM missing_table AS m
    UNION ALL
    SELECT c.oid, c.attnum, 3,
           format(E'ALTER TABLE %I\n    ADD COLUMN IF NOT EXISTS %s;', c.relname, d.definition)
    FROM missing_column AS c JOIN column_definition AS d ON d.oid = c.oid AND d.attnum = c.attnum
    UNION ALL
    SELECT s.oid, t.attnum, 4, s.own_statement
    FROM owned_sequence AS s JOIN target AS t ON t.oid = s.oid AND s.attnum = coalesce(t.attnum, s.attnum)
    UNION ALL
    -- PostgreSQL has no ADD CONSTRAINT IF NOT EXISTS: the constraint is added unless it is there.
    SELECT k.conrelid, k.attnum, 5, format(
        E'DO $$ BEGIN\n    IF NOT EXISTS (SELECT FROM pg_constraint'
        ' WHERE conrelid = %L::regclass AND conname = %L) THEN\n'
        '        ALTER TABLE %I ADD CONSTRAINT %I %s;\n    END IF;\nEND $$;',
        quote_ident(c.relname), k.conname, c.relname, k.conname, pg_get_constraintdef(k.oid, true))
    FROM constraint_target AS k JOIN missing_column AS c ON c.oid = k.conrelid AND c.attnum = k.attnum
    WHERE k.contype IN ('p', 'u', 'x', 'c', 'f')
    UNION ALL
    SELECT t.oid, x.attnum, 6,
           regexp_replace(pg_get_indexdef(x.indexrelid, 0, true), '^CREATE (UNIQUE )?INDEX ',
                          'CREATE \\1INDEX IF NOT EXISTS ') || ';'
    FROM index_target AS x JOIN target AS t ON t.oid = x.indrelid AND t.attnum IS NOT DISTINCT FROM x.attnum
    UNION ALL
    SELECT m.oid, NULL, 7, regexp_replace(pg_get_triggerdef(g.oid, true), '^CREATE TRIGGER ',
                                          'CREATE OR REPLACE TRIGGER ') || ';'
    FROM missing_table AS m JOIN pg_trigger AS g ON g.tgrelid = m.oid AND NOT g.tgisinternal
)
SELECT t.relname AS table, t.attname AS column, s.statement,
       ARRAY(SELECT DISTINCT r.relname FROM pg_constraint AS k JOIN missing_table AS r ON r.oid = k.confrelid
             WHERE t.attnum IS NULL AND k.conrelid = t.oid AND k.contype = 'f' AND r.oid <> t.oid
             ORDER BY 1)::text[] AS refs
FROM target AS t JOIN statement AS s ON s.oid = t.oid AND s.attnum IS NOT DISTINCT FROM t.attnum
ORDER BY t.relname, t.attnum NULLS FIRST, s.step, s.statement
"""
# astegni db adopt: a resolution deleting rows of {table} (ids {deleted}) must lose nothing that references
# them, from any table and under any ON DELETE. One statement per foreign key to {table} in the catalogue
# (a partitioned table's once): it points the referencing rows at the row kept ({kept}) instead, or, when
# none is kept (NULL), stops the resolution while any such row exists.
FOLLOW_KEPT_ROW = sql.SQL("""
WITH foreign_key AS (
    SELECT c.conname, c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n)
            FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
            JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n)
            FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n)
            JOIN pg_attribute AS a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS referenced
    FROM pg_constraint AS c
    WHERE c.contype = 'f' AND c.confrelid = {table}::regclass AND c.conparentid = 0
),
deleted AS (SELECT array_to_string({deleted}::integer[], ', ') AS ids),
part AS (
    SELECT child, conname, parent, ids,
           CASE WHEN referenced = 'id' THEN format('%1$s IN (%2$s)', columns, ids)
                ELSE format('(%1$s) IN (SELECT %2$s FROM %3$s WHERE id IN (%4$s))',
                            columns, referenced, parent, ids) END AS referencing,
           CASE WHEN referenced = 'id' THEN format('%1$s = %2$s', columns, {kept})
                ELSE format('(%1$s) = (SELECT %2$s FROM %3$s WHERE id = %4$s)',
                            columns, referenced, parent, {kept}) END AS following
    FROM foreign_key, deleted
)
SELECT CASE
    WHEN {kept}::integer IS NULL THEN format(
        'DO $astegni$ BEGIN
    IF EXISTS (SELECT FROM %1$s WHERE %2$s) THEN
        RAISE EXCEPTION USING MESSAGE = %3$L;
    END IF;
END $astegni$;', child, referencing,
        format('rows of %s reference %s %s (%s): resolve them, or keep the row instead of deleting it',
               child, parent, ids, conname))
    ELSE format('UPDATE %1$s SET %2$s WHERE %3$s;', child, following, referencing)
END
FROM part
ORDER BY child, conname
""")
# astegni db adopt: each pending request, its schedule in words, for the trial acceptances.
PENDING_REQUESTS = """
SELECT r.id, r.tutor_id,
       concat_ws(' ', coalesce(r.schedule_type, 'no schedule'), r.days::text, r.specific_dates::text,
                 r.months::text, r.year_range::text,
                 to_char(r.start_time, 'HH24:MI') || '-' || to_char(r.end_time, 'HH24:MI')) AS schedule
FROM requested_sessions AS r
WHERE r.status = 'pending'
ORDER BY r.id
"""

# astegni demo (astegni/demo.py): a fresh database on the server, and the school's rows.
# Drops the demo database, whoever is connected to it ({} is its name, an Identifier).
DEMO_DROP_DATABASE = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
# Creates the demo database ({} is its name, an Identifier).
DEMO_CREATE_DATABASE = sql.SQL("CREATE DATABASE {}")
# A user (a tutor or a student), with a placeholder password hash; its id.
DEMO_USER = ("INSERT INTO users (first_name, email, password_hash)"
             " VALUES (%(name)s, %(email)s, '-') RETURNING id")
# A user's tutor profile in an IANA zone; its id.
DEMO_TUTOR = ("INSERT INTO tutor_profiles (user_id, timezone)"
              " VALUES (%(user_id)s, %(timezone)s) RETURNING id")
# A tutor's package with its hourly rate and course ids; its id.
DEMO_PACKAGE = ("INSERT INTO tutor_packages (tutor_id, name, hourly_rate, course_ids)"
                " VALUES (%(tutor_id)s, %(name)s, %(rate)s, %(course_ids)s) RETURNING id")
# A user's student profile; its id.
DEMO_STUDENT = "INSERT INTO student_profiles (user_id) VALUES (%(user_id)s) RETURNING id"
# A request with the columns the demo gives ({columns}: Identifiers, {values}: their Placeholders); its id.
DEMO_REQUEST = sql.SQL("INSERT INTO requested_sessions ({columns}) VALUES ({values}) RETURNING id")
# Today in Addis Ababa by the database's clock: the demo's dates are relative to it.
DEMO_TODAY = "SELECT (now() AT TIME ZONE 'Africa/Addis_Ababa')::date"
