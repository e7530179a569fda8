"""Every statement the Python layer sends, in one place and named."""

ACCEPT = "SELECT * FROM astegni_accept(%(request_id)s::integer, %(tutor_id)s::integer)"
REJECT = "SELECT * FROM astegni_reject(%(request_id)s::integer, %(reason)s::text, %(tutor_id)s::integer)"
CANCEL = "SELECT * FROM astegni_cancel(%(request_id)s::integer, %(reason)s::text, %(tutor_id)s::integer)"
PREVIEW = "SELECT * FROM preview_sessions(%(request_id)s::integer)"
LISTEN = "LISTEN astegni_sessions"

# A student's sessions are those of the requests that enrol them (the rule's own definition).
SESSIONS = """
SELECT s.id, s.request_id, s.enrolled_courses_id AS course_id, s.tutor_id, t.timezone,
       s.session_date, s.starts_at, s.ends_at, coalesce(s.status, 'scheduled') AS status,
       coalesce(s.topics, '[]') AS topics, s.updated_at
FROM sessions AS s
JOIN tutor_profiles AS t ON t.id = s.tutor_id
LEFT JOIN requested_sessions AS r ON r.id = s.request_id
WHERE (%(tutor_id)s::integer IS NULL OR s.tutor_id = %(tutor_id)s)
  AND (%(request_id)s::integer IS NULL OR s.request_id = %(request_id)s)
  AND (%(course_id)s::integer IS NULL OR s.enrolled_courses_id = %(course_id)s)
  AND (%(student_id)s::integer IS NULL
       OR astegni_request_student(r.requested_to_id, r.requester_type, r.requester_id)
          = %(student_id)s)
  AND (%(start)s::timestamptz IS NULL OR s.starts_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR s.starts_at < %(end)s)
ORDER BY s.starts_at, s.id
"""

TUTOR_ZONE = "SELECT timezone FROM tutor_profiles WHERE id = %(tutor_id)s::integer"
REQUEST_ZONE = """
SELECT t.timezone FROM requested_sessions AS r JOIN tutor_profiles AS t ON t.id = r.tutor_id
WHERE r.id = %(request_id)s::integer
"""
MIGRATED = "SELECT to_regclass('alembic_version') IS NOT NULL"
REVISION = "SELECT version_num FROM alembic_version"

# astegni db adopt: the baseline is built in a schema of its own, inside the dry run's transaction.
BASELINE_SCHEMA = "CREATE SCHEMA astegni_baseline; SET LOCAL search_path = astegni_baseline"
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
PENDING_REQUESTS = """
SELECT r.id, r.tutor_id,
       concat_ws(' ', coalesce(r.schedule_type, 'no schedule'), r.days::text, r.specific_dates::text,
                 r.months::text, r.year_range::text,
                 to_char(r.start_time, 'HH24:MI') || '-' || to_char(r.end_time, 'HH24:MI')) AS schedule
FROM requested_sessions AS r
WHERE r.status = 'pending'
ORDER BY r.id
"""
