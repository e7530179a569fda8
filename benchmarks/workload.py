"""The data the benchmarks accept, and the hand-written floors that write the same rows.

Requests come ten to a tutor, each at its own hour (06:00 to 16:00), so that no two sessions of a
tutor ever overlap; odd and even slots use the tutor's two packages. Shapes: recurring Monday,
Wednesday and Friday (24 sessions under the default 8-week horizon), recurring Tuesday and Thursday
(16), and 20 specific dates in the coming two months (20). No request has a month/year window, so
that a series' horizon is the tutor's wall clock 8 weeks on (the floors write it by hand as such).
"""

from __future__ import annotations

import psycopg

PER_TUTOR = 10
ZONES = "ARRAY['Africa/Addis_Ababa', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo']"


def seed(conn: psycopg.Connection[tuple[object, ...]], requests: int, *, mixed: bool) -> None:
    """Tutors, students, packages and `requests` pending requests (all Monday/Wednesday/Friday
    unless mixed), then VACUUM ANALYZE, as a live database would have them."""
    tutors = -(-requests // PER_TUTOR)
    conn.execute(f"""
        INSERT INTO users (id, email, password_hash)
        SELECT g, 'user' || g || '@bench.test', 'x' FROM generate_series(1, {tutors + requests}) AS g;
        INSERT INTO tutor_profiles (id, user_id, timezone)
        SELECT t, t, ({ZONES})[1 + t % 4] FROM generate_series(1, {tutors}) AS t;
        INSERT INTO student_profiles (id, user_id)
        SELECT s, {tutors} + s FROM generate_series(1, {requests}) AS s;
        INSERT INTO tutor_packages (id, tutor_id, name, hourly_rate, course_ids)
        SELECT p, (p + 1) / 2, 'Mathematics', 20 + p % 7, ARRAY[1, 2]
        FROM generate_series(1, {2 * tutors}) AS p;
        INSERT INTO requested_sessions (id, tutor_id, requester_id, requester_type, package_id, message,
                                        schedule_type, days, specific_dates, start_time, end_time)
        SELECT i, x.tutor, {tutors} + i, 'student', 2 * x.tutor - 1 + x.slot % 2, 'Algebra',
               CASE WHEN x.shape = 2 THEN 'specific_dates' ELSE 'recurring' END,
               CASE x.shape WHEN 0 THEN '["Monday", "Wednesday", "Friday"]'::jsonb
                            WHEN 1 THEN '["Tuesday", "Thursday"]'::jsonb END,
               CASE WHEN x.shape = 2 THEN (
                   SELECT jsonb_agg(to_char(current_date + 14 + 3 * j, 'YYYY-MM-DD'))
                   FROM generate_series(0, 19) AS j) END,
               make_time(6 + x.slot, 0, 0), make_time(7 + x.slot, 0, 0)
        FROM generate_series(1, {requests}) AS i
        CROSS JOIN LATERAL (
            SELECT (i - 1) / {PER_TUTOR} + 1 AS tutor, (i - 1) % {PER_TUTOR} AS slot,
                   CASE WHEN {mixed} THEN i % 3 ELSE 0 END AS shape) AS x;
        SELECT setval(pg_get_serial_sequence(t, 'id'), (SELECT max(id) FROM users) + {requests})
        FROM unnest(ARRAY['users', 'tutor_profiles', 'student_profiles', 'tutor_packages',
                          'requested_sessions']) AS t;
    """)
    conn.execute("VACUUM ANALYZE")


def disable_triggers(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """The floor's database: the same tables, constraints and indexes, without the project's triggers
    on requested_sessions and sessions (foreign keys still checked: they are system triggers). The
    floor's own INSERT INTO sessions is a statement of its own, which the rule would check row by row
    as a hand insert; the rule's bulk insert is not."""
    conn.execute("ALTER TABLE requested_sessions DISABLE TRIGGER USER")
    conn.execute("ALTER TABLE sessions DISABLE TRIGGER USER")
    # Each row inserted there is a run of the extension: the floor writes its log row by hand.
    conn.execute("ALTER TABLE astegni_extensions DISABLE TRIGGER USER")


ISODOW = """extract(isodow FROM {day})::int IN (
          SELECT array_position(ARRAY['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday',
                                      'Saturday', 'Sunday'], x.value)
          FROM jsonb_array_elements_text({days}) AS x)"""

# The floor's hand-written expansion, wall clock read in the tutor's zone: the specific dates, or the
# chosen weekdays whose start is after now and at or before the same time 8 weeks on (the first
# stretch of a series, as the rule makes it: today's slot when it is still ahead).
SESSIONS = """
INSERT INTO sessions (enrolled_courses_id, tutor_id, request_id, session_date, start_time, end_time,
                      duration, topics, starts_at, ends_at)
SELECT c.id, r.tutor_id, r.id, d.day, r.start_time, r.end_time, 60, json_build_array(r.message),
       (d.day + r.start_time) AT TIME ZONE t.timezone, (d.day + r.end_time) AT TIME ZONE t.timezone
FROM requested_sessions AS r
JOIN tutor_profiles AS t ON t.id = r.tutor_id
JOIN enrolled_courses AS c ON c.tutor_id = r.tutor_id AND c.package_id = r.package_id
CROSS JOIN LATERAL (
    SELECT x.value::date AS day FROM jsonb_array_elements_text(r.specific_dates) AS x
    WHERE r.schedule_type = 'specific_dates'
    UNION ALL
    SELECT w.now::date + g FROM (SELECT now() AT TIME ZONE t.timezone AS now) AS w,
         generate_series(0, 56) AS g
    WHERE r.schedule_type = 'recurring'
      AND w.now::date + g + r.start_time > w.now
      AND w.now::date + g + r.start_time <= w.now + interval '56 days'
      AND """ + ISODOW.format(day="w.now::date + g", days="r.days") + """
) AS d
WHERE {where}
"""

# A recurring request's series: no window, made until its horizon (the tutor's now, 8 weeks on).
SERIES = """
INSERT INTO series (request_id, tutor_id, made_until)
SELECT r.id, r.tutor_id, (now() AT TIME ZONE t.timezone) + interval '56 days'
FROM requested_sessions AS r
JOIN tutor_profiles AS t ON t.id = r.tutor_id
WHERE {where} AND r.schedule_type = 'recurring'
"""

ACCEPT = """
UPDATE requested_sessions
SET status = 'accepted', responded_at = now() AT TIME ZONE 'UTC', updated_at = now() AT TIME ZONE 'UTC'
WHERE {where}
"""

ENROL = """
INSERT INTO enrolled_students (tutor_id, student_id, package_id, agreed_price)
SELECT r.tutor_id, s.id, r.package_id, coalesce(r.counter_offer_price, p.hourly_rate)
FROM requested_sessions AS r
JOIN student_profiles AS s ON s.user_id = r.requester_id
JOIN tutor_packages AS p ON p.id = r.package_id
WHERE {where}
"""

COURSES = """
INSERT INTO enrolled_courses (tutor_id, package_id, students_id, course_id)
SELECT r.tutor_id, r.package_id, array_agg(s.id), min(p.course_ids)
FROM requested_sessions AS r
JOIN student_profiles AS s ON s.user_id = r.requester_id
JOIN tutor_packages AS p ON p.id = r.package_id
WHERE {where}
GROUP BY r.tutor_id, r.package_id
"""


# What the rule records per accepted request: its acceptances row and its event (astegni_events), which
# names the request's student (the named one, else the requester's own profile).
RECORDS = """
WITH made AS (
    SELECT r.id, r.tutor_id, r.requested_to_id, r.requester_id, r.requester_type, count(s.id)::int AS created,
           min(s.starts_at) AS first, max(s.starts_at) AS last
    FROM requested_sessions AS r LEFT JOIN sessions AS s ON s.request_id = r.id
    WHERE {where}
    GROUP BY r.id
),
recorded AS (
    INSERT INTO acceptances (request_id, accepted_at, sessions_created, students_enrolled, note)
    SELECT id, now(), created, 1, CASE WHEN created = 0 THEN 'none_ahead' END FROM made
)
INSERT INTO astegni_events (event, request_id, tutor_id, student_id, sessions, first_starts_at,
                            last_starts_at, note)
SELECT 'accepted', made.id, made.tutor_id, coalesce(made.requested_to_id, p.id), made.created, made.first,
       made.last, CASE WHEN made.created = 0 THEN 'none_ahead' END
FROM made
LEFT JOIN student_profiles AS p ON p.user_id = made.requester_id AND made.requester_type = 'student'
"""


def bulk_floor(where: str) -> str:
    """The bulk floor, one transaction (one simple-protocol message): the requests' status, their
    enrolments and courses, their sessions in one INSERT ... SELECT, their series, and the rule's
    records of them."""
    accepted = "r.status = 'accepted'"
    return ";\n".join([ACCEPT.format(where=where), ENROL.format(where=accepted),
                       COURSES.format(where=accepted), SESSIONS.format(where=accepted),
                       SERIES.format(where=accepted), RECORDS.format(where=accepted)])


# The extension's floor at a moment {at} (a timestamptz literal), one statement: the live series whose
# horizon (the tutor's wall clock at {at}, 8 weeks on) is past their marker, their sessions in
# (marker, horizon] in one INSERT ... SELECT, the markers moved, and the rule's records: one
# 'extended' event per series that grew and the run's row in astegni_extensions.
EXTEND = """
WITH due AS MATERIALIZED (
    SELECT se.request_id, r.tutor_id, c.id AS course_id, r.days, r.start_time, r.end_time, r.message,
           t.timezone, coalesce(r.requested_to_id, p.id) AS student, se.made_until,
           ({at} AT TIME ZONE t.timezone) + interval '56 days' AS horizon
    FROM series AS se
    JOIN requested_sessions AS r ON r.id = se.request_id
    JOIN tutor_profiles AS t ON t.id = r.tutor_id
    JOIN enrolled_courses AS c ON c.tutor_id = r.tutor_id AND c.package_id = r.package_id
    LEFT JOIN student_profiles AS p ON p.user_id = r.requester_id AND r.requester_type = 'student'
    WHERE r.status = 'accepted' AND se.made_until < ({at} AT TIME ZONE t.timezone) + interval '56 days'
),
advanced AS (
    UPDATE series AS se SET made_until = due.horizon FROM due WHERE se.request_id = due.request_id
),
made AS (
    INSERT INTO sessions (enrolled_courses_id, tutor_id, request_id, session_date, start_time, end_time,
                          duration, topics, starts_at, ends_at)
    SELECT due.course_id, due.tutor_id, due.request_id, d.day, due.start_time, due.end_time, 60,
           json_build_array(due.message), (d.day + due.start_time) AT TIME ZONE due.timezone,
           (d.day + due.end_time) AT TIME ZONE due.timezone
    FROM due
    CROSS JOIN LATERAL generate_series(0, due.horizon::date - due.made_until::date) AS g
    CROSS JOIN LATERAL (SELECT due.made_until::date + g AS day) AS d
    WHERE d.day + due.start_time > due.made_until AND d.day + due.start_time <= due.horizon
      AND """ + ISODOW.format(day="d.day", days="due.days") + """
    RETURNING request_id, starts_at
),
grown AS (
    SELECT made.request_id, count(*)::int AS sessions, min(made.starts_at) AS first,
           max(made.starts_at) AS last
    FROM made
    GROUP BY made.request_id
),
announced AS (
    INSERT INTO astegni_events (event, request_id, tutor_id, student_id, sessions, first_starts_at,
                                last_starts_at)
    SELECT 'extended', grown.request_id, due.tutor_id, due.student, grown.sessions, grown.first, grown.last
    FROM grown
    JOIN due ON due.request_id = grown.request_id
)
INSERT INTO astegni_extensions (at, series_grown, sessions_made)
SELECT {at}, count(*), coalesce(sum(grown.sessions), 0) FROM grown
"""


def extension_floor(at: str) -> str:
    """The extension's floor at `at`, a timestamptz literal (psycopg.sql.Literal's rendering)."""
    return EXTEND.format(at=at)


# The one-accept floor as the rule would be if written for one recurring request alone: one PL/pgSQL
# function (its plans cached after the first calls, as the rule's are), with the triggers off, writing
# the rule's rows: the request's status, its enrolment and course, its first stretch of sessions over
# generate_series (after now and at or before the same time 8 weeks on, in the tutor's zone), its series
# row and the rule's records (acceptances, astegni_events).
FLOOR_ACCEPT = """
CREATE FUNCTION bench_floor_accept(p_request_id integer) RETURNS void
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    r requested_sessions;
    v_zone text;
    v_now timestamp;
    v_student integer;
    v_price numeric;
    v_course_ids integer[];
    v_course integer;
    v_made integer;
    v_first timestamptz;
    v_last timestamptz;
BEGIN
    UPDATE requested_sessions
    SET status = 'accepted', responded_at = now() AT TIME ZONE 'UTC', updated_at = now() AT TIME ZONE 'UTC'
    WHERE id = p_request_id
    RETURNING * INTO r;
    SELECT t.timezone INTO v_zone FROM tutor_profiles AS t WHERE t.id = r.tutor_id;
    v_now := now() AT TIME ZONE v_zone;
    SELECT s.id INTO v_student FROM student_profiles AS s WHERE s.user_id = r.requester_id;
    SELECT coalesce(r.counter_offer_price, p.hourly_rate), p.course_ids INTO v_price, v_course_ids
    FROM tutor_packages AS p WHERE p.id = r.package_id;
    INSERT INTO enrolled_students (tutor_id, student_id, package_id, agreed_price)
    VALUES (r.tutor_id, v_student, r.package_id, v_price);
    INSERT INTO enrolled_courses AS c (tutor_id, package_id, students_id, course_id)
    VALUES (r.tutor_id, r.package_id, ARRAY[v_student], v_course_ids)
    ON CONFLICT ON CONSTRAINT enrolled_courses_tutor_package_key DO UPDATE
    SET students_id = c.students_id || excluded.students_id
    RETURNING c.id INTO v_course;
    WITH made AS (
        INSERT INTO sessions (enrolled_courses_id, tutor_id, request_id, session_date, start_time,
                              end_time, duration, topics, starts_at, ends_at)
        SELECT v_course, r.tutor_id, r.id, d.day, r.start_time, r.end_time, 60, json_build_array(r.message),
               (d.day + r.start_time) AT TIME ZONE v_zone, (d.day + r.end_time) AT TIME ZONE v_zone
        FROM generate_series(0, 56) AS g
        CROSS JOIN LATERAL (SELECT v_now::date + g AS day) AS d
        WHERE d.day + r.start_time > v_now AND d.day + r.start_time <= v_now + interval '56 days'
          AND """ + ISODOW.format(day="d.day", days="r.days") + """
        RETURNING starts_at
    )
    SELECT count(*), min(starts_at), max(starts_at) INTO v_made, v_first, v_last FROM made;
    INSERT INTO series (request_id, tutor_id, made_until)
    VALUES (r.id, r.tutor_id, v_now + interval '56 days');
    INSERT INTO acceptances (request_id, accepted_at, sessions_created, students_enrolled, note)
    VALUES (r.id, now(), v_made, 1, CASE WHEN v_made = 0 THEN 'none_ahead' END);
    INSERT INTO astegni_events (event, request_id, tutor_id, student_id, sessions, first_starts_at,
                                last_starts_at, note)
    VALUES ('accepted', r.id, r.tutor_id, coalesce(r.requested_to_id, v_student), v_made, v_first, v_last,
            CASE WHEN v_made = 0 THEN 'none_ahead' END);
END
$$
"""

# The preview's floor: one PL/pgSQL function returning a recurring request's first stretch, each
# occurrence with the tutor's session it would clash with (the exclusion constraint's index).
FLOOR_PREVIEW = """
CREATE FUNCTION bench_floor_preview(p_request_id integer)
RETURNS TABLE (session_date date, starts_at timestamptz, ends_at timestamptz, clash_session_id integer)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
    r requested_sessions;
    v_zone text;
    v_now timestamp;
BEGIN
    SELECT q.* INTO r FROM requested_sessions AS q WHERE q.id = p_request_id;
    SELECT t.timezone INTO v_zone FROM tutor_profiles AS t WHERE t.id = r.tutor_id;
    v_now := now() AT TIME ZONE v_zone;
    RETURN QUERY
    SELECT o.day, o.starts_at, o.ends_at,
           (SELECT s.id FROM sessions AS s
            WHERE s.tutor_id = r.tutor_id AND s.status IS DISTINCT FROM 'cancelled'
              AND tstzrange(s.starts_at, s.ends_at) && tstzrange(o.starts_at, o.ends_at)
            LIMIT 1)
    FROM (SELECT d.day, (d.day + r.start_time) AT TIME ZONE v_zone AS starts_at,
                 (d.day + r.end_time) AT TIME ZONE v_zone AS ends_at
          FROM generate_series(0, 56) AS g
          CROSS JOIN LATERAL (SELECT v_now::date + g AS day) AS d
          WHERE d.day + r.start_time > v_now AND d.day + r.start_time <= v_now + interval '56 days'
            AND """ + ISODOW.format(day="d.day", days="r.days") + """) AS o
    ORDER BY o.day;
END
$$
"""
