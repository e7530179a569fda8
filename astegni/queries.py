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
