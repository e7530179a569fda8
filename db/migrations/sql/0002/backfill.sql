-- Revision 0002: existing sessions get their tutor and instants (date and wall-clock times read in the
-- tutor's zone) and a duration that agrees with them. Sessions without a course stay unfilled: the
-- blockers list them.
UPDATE sessions AS s
SET tutor_id = c.tutor_id,
    starts_at = astegni_starts_at(s.session_date, s.start_time, t.timezone),
    ends_at = astegni_ends_at(s.session_date, s.start_time, s.end_time, t.timezone),
    duration = (extract(epoch FROM astegni_ends_at(s.session_date, s.start_time, s.end_time, t.timezone)
                - astegni_starts_at(s.session_date, s.start_time, t.timezone)) / 60)::integer
FROM enrolled_courses AS c
JOIN tutor_profiles AS t ON t.id = c.tutor_id
WHERE c.id = s.enrolled_courses_id;
