-- Revision 0001 undone: the baseline's tables, sequences and function.
DROP TABLE requested_session_students, user_investments, sessions, enrolled_students, enrolled_courses,
    requested_sessions, tutor_packages, parent_profiles, student_profiles, tutor_profiles, users;
DROP FUNCTION update_enrolled_courses_updated_at();
