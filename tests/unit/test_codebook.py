import pytest

from innovation_tracker.domain.codebook import load_codebook, load_indicators
from innovation_tracker.domain.errors import ValidationError

HEADER = "factor_code,domain,kind,label,description,paper_projects\n"


def write(tmp_path, text, name="codebook.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_codebook_with_kind_either_loads(tmp_path):
    path = write(tmp_path, HEADER + "cfir_tension,inner_setting,either,Tension for change,,\n")
    [factor] = load_codebook(path)
    assert (factor.factor_code, factor.kind.value, factor.paper_projects) == ("cfir_tension", "either", None)


@pytest.mark.parametrize(
    "row, expected",
    [
        ("Bad Code,context,barrier,X,,", "codebook.csv, row 2, factor_code: code 'Bad Code' must be lower case"),
        (
            "ok_code,context,hindrance,X,,",
            "codebook.csv, row 2, kind: 'hindrance' is not one of: barrier, facilitator, either",
        ),
        ("ok_code,context,barrier,,,", "codebook.csv, row 2, label: label is required"),
        ("ok_code,context,barrier,X,,many", "codebook.csv, row 2, paper_projects: 'many' is not a whole number"),
    ],
)
def test_bad_rows_are_reported_with_row_and_field(tmp_path, row, expected):
    with pytest.raises(ValidationError) as error:
        load_codebook(write(tmp_path, HEADER + row + "\n"))
    assert str(error.value.problems[0]).startswith(expected)


def test_duplicate_codes_are_reported_on_the_second_row(tmp_path):
    with pytest.raises(ValidationError) as error:
        load_codebook(write(tmp_path, HEADER + "a_code,context,barrier,A,,\na_code,context,barrier,B,,\n"))
    [problem] = error.value.problems
    assert (problem.row, problem.rule) == (3, "duplicate")


def test_an_empty_codebook_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="the codebook has no factors"):
        load_codebook(write(tmp_path, HEADER))


def test_the_default_indicator_set():
    indicators = load_indicators()
    assert [i.indicator_code for i in indicators] == [
        "funding_beyond_grant",
        "embedded_in_host",
        "management_support",
        "champion_in_post",
        "host_stability",
        "service_users_engaged",
        "adoption_elsewhere",
        "outlook",
    ]
    assert [(i.min_value, i.max_value) for i in indicators[:3]] == [(0, 3), (1, 5), (1, 5)]


def test_an_ordinal_indicator_needs_its_range(tmp_path):
    path = write(
        tmp_path,
        "indicator_code,label,value_type,min_value,max_value,better,description\n"
        "psat_env,Environmental support,ordinal,1,,higher,\n",
        "indicators.csv",
    )
    with pytest.raises(ValidationError, match="row 2, max_value: an ordinal indicator needs min_value and max_value"):
        load_indicators(path)
