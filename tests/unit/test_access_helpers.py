from lti_app.services.access import course_trainer_ids, is_course_trainer
from tests.factories.core import CourseFactory, actor_for, enrol


def test_trainers_of_a_course_and_oversight(db_session) -> None:
    course = CourseFactory()
    other = CourseFactory(registration=course.registration)
    trainer = enrol(course, "trainer")
    learner = enrol(course, "participant")
    enrol(other, "trainer")
    db_session.flush()
    assert course_trainer_ids(db_session, course.id) == [trainer.id]
    assert is_course_trainer(db_session, actor_for(trainer, course, "trainer"), course.id)
    assert not is_course_trainer(db_session, actor_for(learner, course, "participant"), course.id)
    assert is_course_trainer(db_session, actor_for(learner, other, "admin"), course.id)
