from lti_app.domain.tags import normalise_tag, normalise_tags


def test_case_spacing_and_hyphens_fold_to_one_tag() -> None:
    assert normalise_tag("  Public   Speaking ") == "public speaking"
    assert normalise_tag("public-speaking") == "public speaking"
    assert normalise_tags(["Python", "python ", "PYTHON", "Data_Science"]) == ["python", "data science"]


def test_separated_strings_from_custom_parameters() -> None:
    assert normalise_tags("Leadership; coaching,  Leadership\nSQL") == ["leadership", "coaching", "sql"]
    assert normalise_tags("") == [] and normalise_tags(None) == []
