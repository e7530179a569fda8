-- Revision 0002, once the blockers are gone: the constraints the rule relies on.
ALTER TABLE enrolled_students
    ADD CONSTRAINT enrolled_students_tutor_student_key UNIQUE (tutor_id, student_id);
ALTER TABLE enrolled_courses
    ADD CONSTRAINT enrolled_courses_tutor_package_key UNIQUE NULLS NOT DISTINCT (tutor_id, package_id),
    ADD CONSTRAINT enrolled_courses_id_tutor_key UNIQUE (id, tutor_id);
ALTER TABLE sessions
    ALTER COLUMN enrolled_courses_id SET NOT NULL,
    ALTER COLUMN tutor_id SET NOT NULL,
    ALTER COLUMN starts_at SET NOT NULL,
    ALTER COLUMN ends_at SET NOT NULL,
    ADD CONSTRAINT sessions_course_tutor_fkey FOREIGN KEY (enrolled_courses_id, tutor_id)
        REFERENCES enrolled_courses (id, tutor_id) ON DELETE CASCADE,
    ADD CONSTRAINT sessions_request_date_key UNIQUE (request_id, session_date),
    ADD CONSTRAINT sessions_time_check CHECK (ends_at > starts_at),
    -- No tutor is in two places at once, unless both sessions are one course's (a group class).
    ADD CONSTRAINT sessions_no_overlap EXCLUDE USING gist (
        tutor_id WITH =, tstzrange(starts_at, ends_at) WITH &&, enrolled_courses_id WITH <>)
        WHERE (status IS DISTINCT FROM 'cancelled');
