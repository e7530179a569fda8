-- Revision 0002: the existing rows its constraints would refuse, after the backfill. One row each:
-- what is wrong, the facts, and SQL that resolves it for an admin to review (astegni db adopt prints
-- them; the upgrade stops while any is left and changes nothing). Nothing here deletes data by itself.
WITH enrolment AS (
    SELECT tutor_id, student_id, array_agg(id ORDER BY id) AS ids
    FROM enrolled_students GROUP BY tutor_id, student_id HAVING count(*) > 1
),
course AS (
    SELECT tutor_id, package_id, array_agg(id ORDER BY id) AS ids
    FROM enrolled_courses GROUP BY tutor_id, package_id HAVING count(*) > 1
),
overlap AS (
    SELECT a.tutor_id, a.id AS session_id, b.id AS overlaps_session_id, a.starts_at, a.ends_at
    FROM sessions AS a
    JOIN sessions AS b
      ON b.tutor_id = a.tutor_id AND b.id > a.id AND b.enrolled_courses_id <> a.enrolled_courses_id
     AND tstzrange(b.starts_at, b.ends_at) && tstzrange(a.starts_at, a.ends_at)
    WHERE a.status IS DISTINCT FROM 'cancelled' AND b.status IS DISTINCT FROM 'cancelled'
      AND a.ends_at > a.starts_at AND b.ends_at > b.starts_at
      AND a.start_time <> a.end_time AND b.start_time <> b.end_time
)
SELECT 'students enrolled twice with one tutor (enrolled_students)' AS problem,
       jsonb_build_object('tutor_id', tutor_id, 'student_id', student_id, 'ids', ids) AS facts,
       format('-- keep enrolment %1$s, the first; payments follow it
UPDATE user_investments SET student_payment_id = %1$s WHERE student_payment_id IN (%2$s);
DELETE FROM enrolled_students WHERE id IN (%2$s);', ids[1], array_to_string(ids[2:], ', ')) AS resolution,
       1 AS rank, ids[1] AS id
FROM enrolment
UNION ALL
SELECT 'courses held twice for one tutor and package (enrolled_courses)',
       jsonb_build_object('tutor_id', tutor_id, 'package_id', package_id, 'ids', ids),
       format('-- keep course %1$s, the first: it takes the students and sessions of the others
UPDATE enrolled_courses SET students_id = ARRAY(
    SELECT DISTINCT s FROM enrolled_courses, unnest(students_id) AS s WHERE id IN (%1$s, %2$s) ORDER BY s)
WHERE id = %1$s;
UPDATE sessions SET enrolled_courses_id = %1$s WHERE enrolled_courses_id IN (%2$s);
DELETE FROM enrolled_courses WHERE id IN (%2$s);', ids[1], array_to_string(ids[2:], ', ')),
       2, ids[1]
FROM course
UNION ALL
SELECT 'sessions that belong to no course (enrolled_courses_id is NULL or names no course)',
       jsonb_build_object('session_id', s.id, 'enrolled_courses_id', s.enrolled_courses_id,
                          'session_date', s.session_date, 'start_time', s.start_time, 'end_time', s.end_time),
       format('-- a session without a course has no tutor: give it its course instead, if it is known
DELETE FROM sessions WHERE id = %s;', s.id),
       3, s.id
FROM sessions AS s
WHERE s.tutor_id IS NULL
UNION ALL
SELECT 'sessions with no length (start_time equals end_time, or a DST change skips their time)',
       jsonb_build_object('session_id', id, 'session_date', session_date, 'start_time', start_time,
                          'duration', duration),
       format('UPDATE sessions SET end_time = start_time + interval ''%s minutes'' WHERE id = %s;',
              CASE WHEN duration BETWEEN 1 AND 1439 THEN duration ELSE 60 END, id),
       4, id
FROM sessions
WHERE tutor_id IS NOT NULL AND (start_time = end_time OR ends_at <= starts_at)
UNION ALL
SELECT 'tutors with two overlapping sessions of different courses',
       jsonb_build_object('tutor_id', tutor_id, 'session_id', session_id,
                          'overlaps_session_id', overlaps_session_id, 'starts_at', starts_at,
                          'ends_at', ends_at),
       format('-- or move one of the two
UPDATE sessions SET status = ''cancelled'' WHERE id = %s;', overlaps_session_id),
       5, session_id
FROM overlap
ORDER BY rank, id
