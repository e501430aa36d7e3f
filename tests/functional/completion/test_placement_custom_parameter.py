"""The programme a resource link's custom parameter names is the LMS's text: only an id in ASCII digits
within an id's range names one; anything else names none (never a 500 on the launch)."""

from __future__ import annotations

import pytest

from lti_app.services.completion.placements import programme_for_placement
from tests.factories.core import PlacementFactory, ProgrammeFactory


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "9" * 25, 10**25, "-1", "1.0", True, ""])
def test_a_custom_parameter_that_is_not_an_id_names_no_programme(db_session, value) -> None:
    placement = PlacementFactory(custom={"tandem_programme": value})
    assert programme_for_placement(db_session, placement) is None


def test_a_custom_parameter_with_an_id_binds_the_programme(db_session) -> None:
    placement = PlacementFactory()
    programme = ProgrammeFactory(course=placement.course)
    placement.custom = {"tandem_programme": f" {programme.id} "}
    assert programme_for_placement(db_session, placement) is programme
    assert programme.placement_id == placement.id
