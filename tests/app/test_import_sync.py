"""Imports that sync: a team re-imports its cumulative export every month. Stored rows are unchanged, new rows
are added, changed rows are refused unless asked for (then audited edits), rows absent from a later file are
reported and kept; month after month ends where one import of the final export ends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.cli import main
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import SYSTEM_VIEWER
from tests.app.test_redcap import flat_export
from tests.conftest import DEMO_TODAY, EVALUATOR

SETUP = ("study", "waves", "codebook", "indicators")
CUTOFFS = [dt.date(2025, 6, 1), dt.date(2025, 9, 1), dt.date(2025, 12, 1), DEMO_TODAY]


@pytest.fixture(scope="module")
def demo_export(demo_file, tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("demo_export")
    con = storage.connect(demo_file)
    service.export_study(con, SYSTEM_VIEWER, out)
    con.close()
    return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in out.glob("*.csv")}


def month(tables: dict[str, pd.DataFrame], cutoff: dt.date, *, as_then: bool) -> dict[str, pd.DataFrame]:
    """The cumulative export as it stood on `cutoff`: what had happened by then. `as_then` also shows a
    participant who withdrew later as still active (a change a later export brings)."""
    day = cutoff.isoformat()
    people = tables["participants"][tables["participants"].enrolment_date <= day].copy()
    if as_then:
        later = people.withdrawal_date > day
        people.loc[later, ["status", "withdrawal_date"]] = ["active", ""]
    interviews = tables["interviews"][
        (tables["interviews"].interview_date <= day)
        & tables["interviews"].participant_code.isin(people.participant_code)
    ]
    ratings = tables["factor_ratings"][tables["factor_ratings"].interview_id.isin(interviews.interview_id)]
    milestones = tables["milestones"][tables["milestones"].milestone_date <= day]
    return {
        **{t: tables[t] for t in (*SETUP, "projects", "sustainability")},
        "participants": people,
        "interviews": interviews,
        "factor_ratings": ratings,
        "milestones": milestones,
    }


def write_csvs(tables: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths


def exported(con, tmp_path: Path, name: str) -> dict[str, bytes]:
    """The database as its export: what a user can see of it, byte for byte."""
    out = tmp_path / name
    service.export_study(con, SYSTEM_VIEWER, out)
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}


def uploads(paths):
    return service.read_paths(paths)


def test_a_cumulative_tidy_export_month_after_month_ends_as_one_import_of_the_last(demo_export, tmp_path):
    monthly = storage.connect(tmp_path / "monthly.duckdb")
    previous = None
    for n, cutoff in enumerate(CUTOFFS):
        paths = write_csvs(month(demo_export, cutoff, as_then=False), tmp_path / f"m{n}")
        plan = service.plan_import(monthly, uploads(paths), today=DEMO_TODAY)
        assert not plan.refused
        if previous is not None:
            # Everything stored last month is recognised as unchanged; only what happened since is new.
            assert plan.tables["participants"].unchanged == previous["participants"]
            assert plan.tables["factor_ratings"].unchanged == previous["factor_ratings"]
            assert plan.tables["projects"].unchanged == len(demo_export["projects"])
        service.apply_import(monthly, plan, actor="test")
        previous = storage.table_counts(monthly)
    once = storage.connect(tmp_path / "once.duckdb")
    service.import_files(once, write_csvs(demo_export, tmp_path / "final"), today=DEMO_TODAY, actor="test")
    assert exported(monthly, tmp_path, "a") == exported(once, tmp_path, "b")


def test_changes_a_later_export_brings_are_refused_then_applied_with_update_and_audited(demo_export, tmp_path):
    con = storage.connect(tmp_path / "monthly.duckdb")
    service.import_files(con, write_csvs(month(demo_export, CUTOFFS[1], as_then=True), tmp_path / "m1"),
                         today=DEMO_TODAY, actor="test")  # fmt: skip
    final = write_csvs(demo_export, tmp_path / "final")
    before = exported(con, tmp_path, "before")
    with pytest.raises(ValidationError) as error:
        service.import_files(con, final, today=DEMO_TODAY, actor="test")
    assert exported(con, tmp_path, "after_refusal") == before
    withdrawn = demo_export["participants"].query("status == 'withdrawn'").iloc[0]
    [problem] = [p for p in error.value.problems if p.value == withdrawn.participant_code]
    assert problem.rule == "changed" and problem.file == "participants.csv"
    assert problem.row == 2 + int(demo_export["participants"].index[
        demo_export["participants"].participant_code == withdrawn.participant_code][0])  # fmt: skip
    assert f"status 'active' → 'withdrawn'; withdrawal_date (blank) → '{withdrawn.withdrawal_date}'" in problem.message

    plan = service.plan_import(con, uploads(final), today=DEMO_TODAY, update=True)
    changed = len(plan.tables["participants"].changed)
    assert changed >= 1 and plan.summary().set_index("Table").loc["participants", "Changed"] == changed
    service.apply_import(con, plan, actor="tess")
    once = storage.connect(tmp_path / "once.duckdb")
    service.import_files(once, final, today=DEMO_TODAY, actor="test")
    assert exported(con, tmp_path, "monthly") == exported(once, tmp_path, "once")
    entry = con.execute(
        "SELECT actor, before, after FROM audit_entry WHERE action = 'update' AND entity = 'participant'"
        " AND entity_key = ?",
        [withdrawn.participant_code],
    ).fetchone()
    assert entry[0] == "tess"
    before_row, after_row = json.loads(entry[1]), json.loads(entry[2])
    assert (before_row["status"], after_row["status"]) == ("active", "withdrawn")
    assert after_row["withdrawal_date"] == withdrawn.withdrawal_date and before_row["withdrawal_date"] is None


@pytest.fixture(scope="module")
def redcap_demo(demo_file):
    con = storage.connect(demo_file)
    project = service.redcap_project(con, EVALUATOR)
    tables = {t: storage.read_table(con, EVALUATOR, t) for t in ("participants", "interviews", "factor_ratings")}
    waves = storage.list_waves(con)
    con.close()
    return project, tables, waves


def redcap_month(tables: dict[str, pd.DataFrame], cutoff: dt.date) -> dict[str, pd.DataFrame]:
    day = pd.Timestamp(cutoff)
    people = tables["participants"][tables["participants"].enrolment_date <= day]
    interviews = tables["interviews"][
        (tables["interviews"].interview_date <= day)
        & tables["interviews"].participant_code.isin(people.participant_code)
    ]
    ratings = tables["factor_ratings"][tables["factor_ratings"].interview_id.isin(interviews.interview_id)]
    return {"participants": people, "interviews": interviews, "factor_ratings": ratings}


def natural(con) -> dict[str, pd.DataFrame]:
    """The REDCap tables by their natural keys: interview ids are the tracker's own, given as records arrive."""
    out = {}
    for table, keys in (
        ("participants", ["participant_code"]),
        ("interviews", ["participant_code", "wave"]),
        ("factor_ratings", ["participant_code", "wave", "factor_code"]),
    ):
        frame = storage.read_table(con, SYSTEM_VIEWER, table)
        out[table] = frame.drop(columns="interview_id", errors="ignore").sort_values(keys).reset_index(drop=True)
    return out


@pytest.fixture
def redcap_target(demo_file, tmp_path):
    """A new database holding the demo's study set-up and projects, to which REDCap exports are imported."""

    def make(name):
        source = storage.connect(demo_file)
        paths = service.export_study(source, EVALUATOR, tmp_path / f"setup_{name}")
        source.close()
        wanted = {"study.csv", "waves.csv", "codebook.csv", "indicators.csv", "projects.csv"}
        con = storage.connect(tmp_path / f"{name}.duckdb")
        service.import_files(con, [p for p in paths if p.name in wanted], today=DEMO_TODAY, actor="test")
        return con

    return make


@pytest.mark.parametrize("labels", [False, True], ids=["raw", "labels"])
def test_a_cumulative_redcap_export_month_after_month_ends_as_one_import_of_the_last(
    redcap_demo, redcap_target, tmp_path, labels
):
    project, tables, waves = redcap_demo
    monthly, once = redcap_target("monthly"), redcap_target("once")
    path = tmp_path / "redcap_export.csv"
    stored = 0
    for cutoff in CUTOFFS:
        path.write_text(flat_export(project, redcap_month(tables, cutoff), waves, labels=labels), encoding="utf-8")
        plan = service.plan_import(monthly, uploads([path]), today=DEMO_TODAY)
        assert not plan.refused, plan.refused[:3]
        ratings = plan.tables.get("factor_ratings")
        if ratings is not None:
            assert ratings.unchanged == stored  # last month's ratings are recognised, with their interviews
        service.apply_import(monthly, plan, actor="test")
        stored = storage.table_counts(monthly)["factor_ratings"]
    path.write_text(flat_export(project, tables, waves, labels=labels), encoding="utf-8")
    service.import_files(once, [path], today=DEMO_TODAY, actor="test")
    a, b = natural(monthly), natural(once)
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], obj=table)
    # The same export again changes nothing and writes nothing, not even an audit entry.
    audit = storage.data_version(monthly)
    assert service.import_files(monthly, [path], today=DEMO_TODAY, actor="test") == {}
    assert storage.data_version(monthly) == audit


def test_rows_absent_from_a_later_file_are_reported_and_kept(demo_export, tmp_path):
    con = storage.connect(tmp_path / "db.duckdb")
    service.import_files(con, write_csvs(demo_export, tmp_path / "all"), today=DEMO_TODAY, actor="test")
    fewer = dict(demo_export, participants=demo_export["participants"].iloc[3:])
    plan = service.plan_import(con, uploads(write_csvs(fewer, tmp_path / "fewer")), today=DEMO_TODAY)
    assert plan.tables["participants"].absent == 3
    assert "participants: 0 new, " in "\n".join(plan.lines())
    assert "stored but absent from the file: 3" in "\n".join(plan.lines())
    service.apply_import(con, plan, actor="test")
    assert storage.table_counts(con)["participants"] == len(demo_export["participants"])


def test_the_plan_is_written_exactly_or_refused_when_the_study_changed_since(demo_export, tmp_path):
    con = storage.connect(tmp_path / "db.duckdb")
    first = month(demo_export, CUTOFFS[0], as_then=False)
    service.import_files(con, write_csvs(first, tmp_path / "m0"), today=DEMO_TODAY, actor="test")
    plan = service.plan_import(con, uploads(write_csvs(demo_export, tmp_path / "all")), today=DEMO_TODAY)
    new = {t: len(p.new) for t, p in plan.tables.items() if len(p.new)}
    other = service.plan_import(con, uploads(write_csvs(month(demo_export, CUTOFFS[1], as_then=False),
                                                        tmp_path / "m1")), today=DEMO_TODAY)  # fmt: skip
    service.apply_import(con, other, actor="someone else")
    before = storage.table_counts(con)
    with pytest.raises(Exception, match="changed since these files were checked"):
        service.apply_import(con, plan, actor="test")
    assert storage.table_counts(con) == before
    fresh = service.plan_import(con, uploads(write_csvs(demo_export, tmp_path / "all")), today=DEMO_TODAY)
    counts = service.apply_import(con, fresh, actor="test")
    assert counts == {t: len(p.new) for t, p in fresh.tables.items() if len(p.new)}
    assert sum(new.values()) > sum(counts.values())


def test_dry_run_prints_the_plan_and_writes_nothing(demo_export, tmp_path, capsys):
    db = tmp_path / "db.duckdb"
    first = write_csvs(month(demo_export, CUTOFFS[0], as_then=False), tmp_path / "m0")
    assert main(["import", "--db", str(db), *map(str, first), "--today", str(DEMO_TODAY)]) == 0
    con = storage.connect(db)
    before = exported(con, tmp_path, "before")
    con.close()
    capsys.readouterr()
    final = write_csvs(demo_export, tmp_path / "final")
    assert main(["import", "--db", str(db), "--dry-run", "--update", *map(str, final), "--today", "2026-03-02"]) == 0
    out = capsys.readouterr().out
    people = demo_export["participants"]
    enrolled = int((people.enrolment_date <= CUTOFFS[0].isoformat()).sum())
    assert f"participants: {len(people) - enrolled} new, {enrolled} unchanged, 0 changed, 0 refused" in out
    assert "Dry run: nothing was written." in out
    con = storage.connect(db)
    assert exported(con, tmp_path, "after") == before
    con.close()


def test_a_refused_change_exits_2_naming_the_row_and_the_values(demo_export, tmp_path, capsys):
    db = tmp_path / "db.duckdb"
    paths = write_csvs({t: demo_export[t] for t in (*SETUP, "projects")}, tmp_path / "setup")
    assert main(["import", "--db", str(db), *map(str, paths), "--today", str(DEMO_TODAY)]) == 0
    projects = demo_export["projects"].copy()
    projects.loc[1, "status"] = "stalled" if projects.loc[1, "status"] != "stalled" else "active"
    [path] = write_csvs({"projects": projects}, tmp_path / "changed")
    capsys.readouterr()
    assert main(["import", "--db", str(db), str(path)]) == 2
    err = capsys.readouterr().err
    code = projects.loc[1, "project_code"]
    assert f"projects.csv, row 3, project_code: project_code {code} is stored with other values (status '" in err
    assert main(["import", "--db", str(db), "--update", str(path)]) == 0
    con = storage.connect(db)
    assert (
        con.execute("SELECT status FROM project WHERE project_code = ?", [code]).fetchone()[0]
        == projects.loc[1, "status"]
    )
