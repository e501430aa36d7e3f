"""Admin-led matching as a feature: the questionnaire, the pool, runs, review, pins and bans, publishing,
and suggestions for self-selection. The optimisation itself is the pure ``lti_app.matching`` engine.

Every entry point takes the session and the acting person and checks, first, that they are a trainer of
the programme's course (or an admin of its platform); participants only answer questions and read their
own suggestions.
"""

from lti_app.services.matching.constraints import (
    ConstraintRow,
    list_constraints,
    remove_constraint,
    set_constraint,
)
from lti_app.services.matching.fields import PROFILE_FIELDS, ProfileField
from lti_app.services.matching.pool import SCOPES, Pool, load_pool
from lti_app.services.matching.publish import PublishOutcome, publish, start_mode
from lti_app.services.matching.questionnaire import (
    QuestionForm,
    Questionnaire,
    add_question,
    delete_question,
    get_questionnaire,
    question_form,
    questions_due,
    save_answers,
    set_criteria,
    update_question,
)
from lti_app.services.matching.review import MatchingHome, Review, matching_home, mentor_options, review
from lti_app.services.matching.runs import (
    CONFLICT_REASONS,
    SOLVERS,
    UNMATCHED_REASONS,
    RunParams,
    RunView,
    discard,
    list_runs,
    load_run,
    proposed_run,
    reasons_text,
    rerun,
    run_matching,
    view_run,
)
from lti_app.services.matching.suggestions import MentorSuggestion, suggest_mentors

__all__ = [
    "CONFLICT_REASONS",
    "PROFILE_FIELDS",
    "SCOPES",
    "SOLVERS",
    "UNMATCHED_REASONS",
    "ConstraintRow",
    "MatchingHome",
    "MentorSuggestion",
    "Pool",
    "ProfileField",
    "PublishOutcome",
    "QuestionForm",
    "Questionnaire",
    "Review",
    "RunParams",
    "RunView",
    "add_question",
    "delete_question",
    "discard",
    "get_questionnaire",
    "list_constraints",
    "list_runs",
    "load_pool",
    "load_run",
    "matching_home",
    "mentor_options",
    "proposed_run",
    "publish",
    "question_form",
    "questions_due",
    "reasons_text",
    "remove_constraint",
    "rerun",
    "review",
    "run_matching",
    "save_answers",
    "set_constraint",
    "set_criteria",
    "start_mode",
    "suggest_mentors",
    "update_question",
    "view_run",
]
