"""A large import from the command line: 2,000 participants, 10,000 interviews and 100,000 factor ratings."""

import datetime as dt
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain import codebook
from innovation_tracker.domain.model import Study

START, END = dt.date(2025, 1, 1), dt.date(2026, 6, 30)
PROJECTS, PEOPLE_PER_PROJECT, RATINGS_PER_INTERVIEW = 20, 100, 10
OFFSETS = {"baseline": 0, "month_3": 91, "month_6": 182, "month_9": 273, "month_12": 365}
TIME_LIMIT_S = 45  # "well under a minute" on the 2-core CI machine; a healthy run takes a fraction of this


def synthetic_study(folder) -> list:
    """Tidy CSVs for a large synthetic study: every rating obeys its factor's kind, every date the study window."""
    rng = np.random.default_rng(7)
    codes = [f"P{n:02d}" for n in range(PROJECTS)]
    projects = pd.DataFrame(
        {"project_code": codes, "name": [f"Project {c}" for c in codes], "setting": "community",
         "host_organisation": "", "relation_to_statutory": "external", "start_date": "", "status": "active"}
    )  # fmt: skip
    people = pd.DataFrame({"participant_code": [f"{c}-{n:03d}" for c in codes for n in range(PEOPLE_PER_PROJECT)]})
    people["project_code"] = people.participant_code.str[:3]
    people["role"] = rng.choice(["service_user", "caregiver", "manager", "commissioner"], len(people))
    enrolled = pd.Timestamp(START) + pd.to_timedelta(rng.integers(5, 60, len(people)), unit="D")
    people["enrolment_date"] = enrolled.strftime("%Y-%m-%d")
    people["status"] = "active"
    interviews = people[["participant_code", "project_code"]].merge(pd.DataFrame({"wave": list(OFFSETS)}), how="cross")
    base = pd.to_datetime(interviews.participant_code.map(dict(zip(people.participant_code, enrolled, strict=True))))
    interviews["interview_date"] = (base + pd.to_timedelta(interviews.wave.map(OFFSETS), unit="D")).dt.strftime(
        "%Y-%m-%d"
    )
    interviews.insert(0, "interview_id", np.arange(1, len(interviews) + 1))
    interviews = interviews.assign(mode="telephone", interviewer="Fieldworker", duration_min=30, status="completed")
    factors = codebook.load_codebook()
    picks = np.array([rng.choice(len(factors), RATINGS_PER_INTERVIEW, replace=False) for _ in range(len(interviews))])
    sign = np.array([-1 if f.kind == "barrier" else 1 for f in factors])
    ratings = pd.DataFrame(
        {
            "interview_id": np.repeat(interviews.interview_id.to_numpy(), RATINGS_PER_INTERVIEW),
            "project_code": "",
            "participant_code": "",
            "wave": "",
            "factor_code": np.array([f.factor_code for f in factors])[picks.ravel()],
            "domain": "",
            "kind": "",
            "rating": sign[picks.ravel()] * rng.integers(1, 3, picks.size),
            "evidence": "",
        }
    )
    paths = []
    for name, frame in (("projects", projects), ("participants", people), ("interviews", interviews),
                        ("factor_ratings", ratings)):  # fmt: skip
        paths.append(folder / f"{name}.csv")
        frame.to_csv(paths[-1], index=False)
    return paths


@pytest.fixture
def study_path(tmp_path):
    path = tmp_path / "large.duckdb"
    con = storage.connect(path)
    service.init_study(con, Study("Large study", START, END))
    con.close()
    return path


def test_100k_ratings_import_from_the_cli_well_under_a_minute(study_path, tmp_path, capsys):
    paths = synthetic_study(tmp_path)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "innovation_tracker", "import", "--db", str(study_path), "--today", END.isoformat(),
         *map(str, paths)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    with capsys.disabled():
        print(f"\n100,000-rating import from the CLI: {elapsed:.1f} s")
    assert elapsed < TIME_LIMIT_S
    con = storage.connect(study_path)
    counts = storage.table_counts(con)
    sums = con.execute("SELECT count(*) FILTER (WHERE rating < 0), sum(rating) FROM factor_rating").fetchone()
    con.close()
    assert (counts["participants"], counts["interviews"], counts["factor_ratings"]) == (2_000, 10_000, 100_000)
    ratings = pd.read_csv(paths[-1])
    assert sums == (int((ratings.rating < 0).sum()), int(ratings.rating.sum()))


def test_one_bad_rating_among_100k_is_found_and_nothing_is_written(study_path, tmp_path):
    paths = synthetic_study(tmp_path)
    ratings = pd.read_csv(paths[-1], dtype=str, keep_default_na=False)
    ratings.loc[76_543, "rating"] = "0"
    ratings.to_csv(paths[-1], index=False)
    con = storage.connect(study_path)
    with pytest.raises(Exception) as error:
        service.import_files(con, paths, today=END, actor="test")
    assert [(p.row, p.rule) for p in error.value.problems] == [(76_545, "rating_range")]
    assert storage.table_counts(con)["factor_ratings"] == 0 and storage.table_counts(con)["participants"] == 0
    con.close()
