from tests.factories.core import CourseFactory, ProgrammeFactory, enrol, pair


def test_core_factories_build_consistent_rows(db_session):
    course = CourseFactory()
    a = enrol(course, "participant")
    b = enrol(course, "trainer")
    assert a.registration_id == course.registration_id
    rel = pair(ProgrammeFactory(course=course), b, a)
    assert sorted(rel.person_ids()) == sorted([a.id, b.id])
