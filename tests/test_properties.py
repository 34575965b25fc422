"""Bad input at scale: arbitrary text, numbers, dates and bytes never crash a validator or an import (only a
ValidationError) and never leave part of an import behind."""

from __future__ import annotations

import datetime as dt
import io
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from innovation_tracker import codebook, domain, importer, service, storage, tidy
from innovation_tracker.domain import Factor, FactorKind, Study
from innovation_tracker.errors import ValidationError
from tests.conftest import DEMO_TODAY

FACTORS = codebook.load_codebook()
INDICATORS = codebook.load_indicators()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Imports run against a real database: fewer examples, and no shrinking, whose hundreds of extra imports would
# take minutes; the failing example is printed as it was found.
SLOW = settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# What a person (or a broken export) might put in a cell: any text, numbers of every kind, dates and near-dates.
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
)
date_like = st.one_of(
    st.dates().map(dt.date.isoformat),
    st.datetimes().map(str),
    st.from_regex(r"\d{1,5}-\d{1,3}-\d{1,3}", fullmatch=True),
)
cells = st.one_of(
    st.text(max_size=40), numbers.map(str), date_like, st.sampled_from(["", "nan", "None", "-0", "1e309"])
)
values = st.one_of(st.none(), st.text(max_size=40), numbers, st.dates(), st.booleans())


def only_validation_problems(call):
    """Run `call`; a ValidationError is the only failure allowed, and it must name at least one problem."""
    try:
        return call()
    except ValidationError as error:
        assert error.problems
        return None


@FAST
@given(rating=values, factor=st.sampled_from([*FACTORS, None]), code=st.text(max_size=20))
def test_check_rating_reports_problems_and_never_raises(rating, factor, code):
    problems = domain.check_rating(rating, factor, code)
    assert isinstance(problems, list)
    if not problems:
        assert int(rating) in (-2, -1, 1, 2)


@FAST
@given(duration=values)
def test_check_duration_reports_problems_and_never_raises(duration):
    minutes, problems = domain.check_duration(duration)
    assert (minutes is None) or (1 <= minutes <= domain.MAX_DURATION_MIN and not problems)


@FAST
@given(value=values, field=st.text(max_size=10))
def test_parse_date_and_enum_never_raise(value, field):
    parsed, problems = domain.parse_date(value, field)
    assert (parsed is None) == bool(problems)
    member, problems = domain.parse_enum(domain.Role, value, field)
    assert (member is None) == bool(problems)


@FAST
@given(value=values, indicator=st.sampled_from(INDICATORS))
def test_indicator_values_are_normalised_or_refused(value, indicator):
    canonical, problems = domain.normalise_indicator_value(indicator, value)
    assert (canonical is None) == bool(problems) or value is None or str(value).strip() == ""


@FAST
@given(data=st.binary(max_size=400))
def test_any_bytes_are_read_as_csv_or_refused(data):
    frame = only_validation_problems(lambda: importer.read_csv_text(data, "factor_ratings.csv"))
    assert frame is None or isinstance(frame, pd.DataFrame)


@FAST
@given(text=st.text(max_size=300), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252", "utf-8-sig"]))
def test_text_in_any_encoding_is_read_or_refused(text, encoding):
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode(encoding, errors="replace")
    only_validation_problems(lambda: importer.read_upload("participants.csv", data))


def tidy_rows(table: str, draw_cells) -> st.SearchStrategy:
    """Rows of `table` with every contract column, each cell arbitrary text."""
    columns = tidy.columns(table)
    return st.lists(st.fixed_dictionaries({c: draw_cells for c in columns}), min_size=1, max_size=12)


def as_csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def study_file(tmp_path_factory):
    """A small study to import into: the demo, whose ids and codes the strategies below reuse."""
    path = tmp_path_factory.mktemp("properties") / "study.duckdb"
    con = storage.connect(path)
    service.load_demo(con, today=DEMO_TODAY)
    con.close()
    return path


@pytest.fixture(scope="module")
def con(study_file):
    con = storage.connect(study_file)
    yield con
    con.close()


def snapshot(con) -> dict[str, int]:
    return {**storage.table_counts(con), "audit": con.execute("SELECT count(*) FROM audit_entry").fetchone()[0]}


def import_uploads(con, uploads: list[tuple[str, bytes]]) -> None:
    """Import uploads; whatever happens, the study holds either all of them or none of them."""
    before = snapshot(con)
    try:
        counts = service.run_import(con, service.read_import(con, uploads), today=DEMO_TODAY, actor="hypothesis")
    except ValidationError as error:
        assert error.problems
        assert snapshot(con) == before, "a refused import wrote something"
        return
    after = snapshot(con)
    for table, added in counts.items():
        assert after[table] == before[table] + added
    assert after["audit"] == before["audit"] + 1


# Cells drawn from the demo's own codes as well as from noise, so that some rows pass some rules and the
# checks further down (references, dates against enrolment, rating signs) are reached too.
known = st.sampled_from(["ARTS", "BEAT", "ARTS-01", "baseline", "month_3", "completed", "telephone", "1", "2", "-1"])
mixed = st.one_of(cells, known, st.sampled_from([f.factor_code for f in FACTORS]))


@SLOW
@given(rows=tidy_rows("factor_ratings", mixed))
def test_arbitrary_ratings_are_imported_whole_or_not_at_all(con, rows):
    import_uploads(con, [("factor_ratings.csv", as_csv(rows))])


@SLOW
@given(people=tidy_rows("participants", mixed), interviews=tidy_rows("interviews", mixed))
def test_arbitrary_participants_and_interviews_are_imported_whole_or_not_at_all(con, people, interviews):
    import_uploads(con, [("participants.csv", as_csv(people)), ("interviews.csv", as_csv(interviews))])


@SLOW
@given(rows=tidy_rows("projects", mixed), noise=st.binary(max_size=200))
def test_a_good_file_next_to_random_bytes_writes_nothing(con, rows, noise):
    import_uploads(con, [("projects.csv", as_csv(rows)), ("milestones.csv", noise)])


@SLOW
@given(
    tables=st.dictionaries(st.sampled_from(list(tidy.TABLES)), st.lists(st.dictionaries(st.text(max_size=8), cells)))
)
def test_import_tables_of_any_shape_is_refused_cleanly(con, tables):
    frames = {t: pd.DataFrame(rows) for t, rows in tables.items()}
    before = snapshot(con)
    try:
        service.import_tables(con, frames, today=DEMO_TODAY, actor="hypothesis", source="hypothesis")
    except ValidationError as error:
        assert error.problems
        assert snapshot(con) == before


def test_a_valid_import_still_goes_through(tmp_path):
    """The property tests above would pass if every import were refused: one that is valid must be stored."""
    con = storage.connect(tmp_path / "a.duckdb")
    service.init_study(con, Study("S", dt.date(2025, 1, 1), dt.date(2026, 6, 30)))
    rows = [{"project_code": "ART", "name": "Art", "setting": "nhs", "host_organisation": "", "relation_to_statutory":
             "internal", "start_date": "2025-01-02", "status": "active"}]  # fmt: skip
    import_uploads(con, [("projects.csv", as_csv(rows))])
    assert storage.table_counts(con)["projects"] == 1
    con.close()


@pytest.mark.parametrize("rating", [math.inf, -math.inf, math.nan, "inf", "1e309", 10**400])
def test_check_rating_refuses_non_finite_numbers(rating):
    factor = Factor("x", "context", FactorKind.EITHER, "X", "", None)
    assert [p.rule for p in domain.check_rating(rating, factor, "x")] == ["rating_range"]
