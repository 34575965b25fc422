"""Bad input at scale: arbitrary text, numbers, dates and bytes never crash a validator or an import (only a
ValidationError) and never leave part of an import behind."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain import codebook
from innovation_tracker.domain import model as domain
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import SYSTEM_VIEWER, Factor, FactorKind, Study
from innovation_tracker.formats import importer, tidy
from tests.conftest import DEMO_TODAY

FACTORS = codebook.load_codebook()
INDICATORS = codebook.load_indicators()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def examples_database() -> ExampleDatabase:
    """The import properties' failing examples, kept in the repository (tests/hypothesis-examples) so that every
    run, CI's included, replays them before it generates new ones.

    Hypothesis files an example under a key made from the test function's source (decorators and comments left
    out) and signature: editing a test's body or parameters orphans its saved examples. Hypothesis also deletes an
    example that no longer fails when it replays it, so the committed folder is read-only here and new failures
    go to the usual local .hypothesis/ folder; HYPOTHESIS_SAVE_EXAMPLES=1 writes them to the committed folder
    instead (to add examples: run with it, then commit the new files)."""
    committed = DirectoryBasedExampleDatabase(str(EXAMPLES))
    if os.environ.get("HYPOTHESIS_SAVE_EXAMPLES"):
        return committed
    local = DirectoryBasedExampleDatabase(str(Path(__file__).parents[2] / ".hypothesis" / "examples"))
    return MultiplexedDatabase(ReadOnlyDatabase(committed), local)


EXAMPLES = Path(__file__).parents[1] / "hypothesis-examples"
# Imports run against a real database: fewer examples, and no shrinking, whose hundreds of extra imports would
# take minutes; the failing example is printed as it was found.
SLOW = settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=examples_database(),
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


def export_bytes(con) -> dict[str, bytes]:
    """The whole study as its CSV export, byte for byte (written by storage directly: no audit entry)."""
    with tempfile.TemporaryDirectory() as folder:
        storage.copy_export(con, SYSTEM_VIEWER, Path(folder), "csv")
        return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def import_uploads(con, uploads: list[tuple[str, bytes]], *, update: bool = False, compare: bool = False) -> str:
    """The property of every import: exit 0 with a plan, or exit 2 with problems; and the database is then exactly
    what the plan says: unchanged by problems or refused changes, else grown by the plan's new rows, after which
    the same files plan as nothing new and nothing changed. `compare` also holds the export to it byte for byte."""
    before, exported = snapshot(con), export_bytes(con) if compare else None
    try:
        plan = service.plan_import(con, uploads, today=DEMO_TODAY, update=update)
    except ValidationError as error:
        assert error.problems
        assert snapshot(con) == before, "a refused import wrote something"
        assert not compare or export_bytes(con) == exported
        return "problems"
    if plan.refused:
        with pytest.raises(ValidationError):
            service.apply_import(con, plan, actor="hypothesis")
        assert snapshot(con) == before, "a refused change wrote something"
        assert not compare or export_bytes(con) == exported
        return "refused"
    written = service.apply_import(con, plan, actor="hypothesis")
    after = snapshot(con)
    for name, table in plan.tables.items():
        assert after[name] == before[name] + len(table.new)
        assert written.get(name, 0) == len(table.new)
        assert written.get(f"{name} updated", 0) == (len(table.changed) if update else 0)
    updates = sum(len(t.changed) for t in plan.tables.values()) if update else 0
    assert after["audit"] == before["audit"] + any(len(t.new) for t in plan.tables.values()) + updates
    if plan.writes == 0 and compare:
        assert export_bytes(con) == exported
    again = service.plan_import(con, uploads, today=DEMO_TODAY, update=update)
    assert not any(len(t.new) or len(t.changed) for t in again.tables.values()), "the plan was not what was written"
    return "written"


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


# Imports as teams make them: the demo's own export, cut, repeated and edited. Failing examples are kept in the
# repository (`examples_database`) so that CI replays them before it generates new ones.
SYNC = settings(
    max_examples=int(os.environ.get("SYNC_EXAMPLES", "25")),  # SYNC_EXAMPLES=2: replay the kept ones, try 2 more
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=examples_database(),
)
# Each example is up to three imports, each planned twice and the study exported before and after: from one to
# thirty seconds on a shared two-core machine. pyproject's 300 s per test ended these runs part way on a busy
# machine (a failure that "passed on rerun", with nothing to replay); a test's decorators are not part of the
# key its examples are kept under, so this one can change freely.
SYNC_TIMEOUT_S = 1800
SETUP = ("study", "waves", "codebook", "indicators")
EDITABLE = {"projects": "name", "participants": "role", "interviews": "interviewer", "factor_ratings": "evidence",
            "sustainability": "value", "milestones": "notes"}  # fmt: skip
EDITS = st.sampled_from(["changed", "", "=SUM(A1)", "'=x", "manager", "3", "green"])


@pytest.fixture(scope="module")
def sync_source(tmp_path_factory):
    """The demo as its tidy export, its REDCap project, and a database holding only its set-up and projects.

    From a demo of its own: the tests above write whatever valid rows they generate into `study_file`, so an
    export of that would differ from run to run, and a failing example saved here would not fail on replay."""
    folder = tmp_path_factory.mktemp("sync")
    con = storage.connect(folder / "demo.duckdb")
    service.load_demo(con, today=DEMO_TODAY)
    service.export_study(con, SYSTEM_VIEWER, folder / "export")
    project = service.redcap_project(con, SYSTEM_VIEWER)
    redcap_tables = {t: storage.read_table(con, SYSTEM_VIEWER, t) for t in ("participants", "interviews",
                                                                             "factor_ratings")}  # fmt: skip
    waves = storage.list_waves(con)
    con.close()
    tables = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in (folder / "export").glob("*.csv")}
    setup = folder / "setup.duckdb"
    con = storage.connect(setup)
    files = [folder / "export" / f"{t}.csv" for t in (*SETUP, "projects")]
    service.import_files(con, files, today=DEMO_TODAY, actor="setup")
    con.close()
    return tables, (project, redcap_tables, waves), setup


@contextlib.contextmanager
def fresh_copy(setup: Path):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "db.duckdb"
        shutil.copyfile(setup, path)
        con = storage.connect(path)
        try:
            yield con
        finally:
            con.close()


def drawn_file(data, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A cumulative cut of the table, perhaps with rows given twice and a cell edited."""
    cut = frame.iloc[: data.draw(st.integers(0, len(frame)), label=f"{table} rows")]
    if len(cut) and data.draw(st.booleans(), label=f"{table} duplicated"):
        again = data.draw(st.lists(st.integers(0, len(cut) - 1), min_size=1, max_size=3), label="rows again")
        cut = pd.concat([cut, cut.iloc[again]], ignore_index=True)
    if len(cut) and table in EDITABLE and data.draw(st.booleans(), label=f"{table} edited"):
        cut = cut.copy()
        cut.loc[data.draw(st.integers(0, len(cut) - 1)), EDITABLE[table]] = data.draw(EDITS)
    return cut


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


@pytest.mark.slow
@pytest.mark.timeout(SYNC_TIMEOUT_S)
@SYNC
@given(data=st.data())
def test_tidy_imports_month_after_month_are_a_plan_or_problems_and_the_study_is_what_the_plan_says(sync_source, data):
    tables, _, setup = sync_source
    outcomes = []
    with fresh_copy(setup) as con:
        for _ in range(data.draw(st.integers(1, 3), label="imports")):
            chosen = data.draw(st.lists(st.sampled_from(sorted(set(tables) - {"wide"})), min_size=1, max_size=5,
                                        unique=True), label="tables")  # fmt: skip
            uploads = []
            for table in chosen:
                content = csv_bytes(drawn_file(data, table, tables[table]))
                uploads.append((f"{table}.csv", content))
                if data.draw(st.booleans(), label=f"{table} file repeated"):
                    uploads.append((f"again/{table}.csv", content))
            outcomes.append(import_uploads(con, uploads, update=data.draw(st.booleans()), compare=True))
    assert outcomes


@pytest.mark.slow
@pytest.mark.timeout(SYNC_TIMEOUT_S)
@SYNC
@given(data=st.data())
def test_redcap_exports_month_after_month_are_a_plan_or_problems_and_the_study_is_what_the_plan_says(sync_source, data):
    from tests.app.test_redcap import flat_export

    _, (project, tables, waves), setup = sync_source
    people = tables["participants"].participant_code
    with fresh_copy(setup) as con:
        for _ in range(data.draw(st.integers(1, 3), label="imports")):
            chosen = people.iloc[: data.draw(st.integers(1, len(people)), label="participants")]
            part = {t: f[f.participant_code.isin(chosen)] for t, f in tables.items()}
            text = flat_export(project, part, waves, labels=data.draw(st.booleans(), label="labels"))
            lines = text.splitlines(keepends=True)
            if data.draw(st.booleans(), label="a row given twice"):
                lines.append(lines[data.draw(st.integers(1, len(lines) - 1))])
            uploads = [("redcap_export.csv", "".join(lines).encode("utf-8"))]
            if data.draw(st.booleans(), label="with tidy participants"):
                uploads.append(
                    ("participants.csv", csv_bytes(drawn_file(data, "participants", sync_source[0]["participants"])))
                )
            import_uploads(con, uploads, update=data.draw(st.booleans()), compare=True)


def test_a_cumulative_sync_is_written_and_a_repeat_writes_nothing(sync_source):
    """The properties above would pass if every import were refused: these must go through."""
    tables, _, setup = sync_source
    with fresh_copy(setup) as con:
        half = {t: tables[t].iloc[: len(tables[t]) // 2] for t in ("participants",)}
        assert import_uploads(con, [("participants.csv", csv_bytes(half["participants"]))], compare=True) == "written"
        everyone = [("participants.csv", csv_bytes(tables["participants"]))]
        assert import_uploads(con, everyone, compare=True) == "written"
        assert import_uploads(con, everyone, compare=True) == "written"
        assert storage.table_counts(con)["participants"] == len(tables["participants"])
