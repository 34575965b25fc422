"""Every CSV the app hands out neutralises spreadsheet formulas by the tidy export's rule (`tidy.neutralise`): the
REDCap project files (from the page's zip and from the CLI), the call list and the import's problem list. User
text that starts with = + - @, a tab or a carriage return is written with an apostrophe in front; numbers stay
numbers. (The tidy export itself: tests/app/test_roundtrip.py.)"""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.formats import fieldwork, redcap, tidy
from innovation_tracker.views import page_content
from tests.conftest import DEMO_TODAY, EVALUATOR

FORMULAS = ['=HYPERLINK("http://ev.il")', "@SUM(1)", "+1+1", "-1+1", "\t=1+1", "\r=1+1"]
RATING_CHOICES = "-2, Strong barrier | -1, Barrier | 1, Facilitator | 2, Strong facilitator"


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def runs_as_a_formula(cell: str) -> bool:
    """What a spreadsheet would run: a cell starting with a formula character that is not a plain number."""
    return cell.startswith(("=", "+", "-", "@", "\t", "\r")) and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", cell)


@pytest.fixture
def formulas_typed(seeded):
    """The demo with formulas typed into the text that reaches the files: wave labels, project names, factor
    labels, interviewers."""
    waves = [w.wave for w in storage.list_waves(seeded)]
    for n, wave in enumerate(waves):
        seeded.execute("UPDATE wave SET label = ? WHERE wave = ?", [FORMULAS[n % len(FORMULAS)], wave])
    seeded.execute("UPDATE project SET name = ? WHERE project_code = 'ARTS'", [FORMULAS[0]])
    seeded.execute("UPDATE factor SET label = ? WHERE position = 1", [FORMULAS[1]])
    for n, text in enumerate(FORMULAS):
        seeded.execute(
            "UPDATE interview SET interviewer = ? WHERE interviewer IS NOT NULL AND interview_id % ? = ?",
            [text, len(FORMULAS), n],
        )
    return seeded, waves


def redcap_downloads(con, tmp_path: Path) -> dict[str, dict[str, bytes]]:
    """The REDCap files as the page's zip holds them and as the CLI writes them."""
    archive, _ = page_content.redcap_files(con, EVALUATOR)
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        page = {Path(name).stem: zipped.read(name) for name in zipped.namelist()}
    paths = service.write_redcap_dictionary(con, EVALUATOR, tmp_path / "redcap" / "dictionary.csv")
    cli = {("data_dictionary" if p.stem == "dictionary" else p.stem.removeprefix("dictionary_")): p.read_bytes()
           for p in paths}  # fmt: skip
    return {"page": page, "cli": cli}


def test_redcap_event_labels_are_neutralised_and_no_cell_of_the_project_runs_as_a_formula(formulas_typed, tmp_path):
    con, waves = formulas_typed
    for where, files in redcap_downloads(con, tmp_path).items():
        assert set(files) == {"data_dictionary", "events", "instrument_event_mapping", "repeating_instruments"}
        header, *events = rows(files["events"])
        labels = [row[header.index("custom_event_label")] for row in events]
        assert labels == ["'" + FORMULAS[n % len(FORMULAS)] for n in range(len(waves))], where
        assert [row[header.index("day_offset")] for row in events][:2] == ["0", "91"], "numbers stay numbers"
        for name, data in files.items():
            for row in rows(data):
                assert not [cell for cell in row if runs_as_a_formula(cell) and cell != RATING_CHOICES], (where, name)
        dictionary = {row[0]: row for row in rows(files["data_dictionary"])}
        # REDCap reads the rating's codes as written ("'-2" would be a code of its own); the list is not user text
        assert dictionary["rating"][5] == RATING_CHOICES
        assert f"ARTS, {FORMULAS[0]}" in dictionary["project"][5], "user text inside a cell is left as it is"


def test_the_call_list_neutralises_user_text(formulas_typed):
    con, _ = formulas_typed
    calls = page_content.fieldwork_calls(con, EVALUATOR, DEMO_TODAY).calls
    header, *lines = rows(fieldwork.calls_csv(calls))
    assert lines
    labels = {line[header.index("wave_label")] for line in lines}
    assert labels <= {"'" + f for f in FORMULAS} and len(labels) > 1
    interviewers = {line[header.index("interviewer")] for line in lines} - {fieldwork.UNASSIGNED}
    assert interviewers == {"'" + f for f in FORMULAS}
    assert not [cell for line in lines for cell in line if runs_as_a_formula(cell)]


def test_the_problem_list_download_neutralises_the_cells_it_quotes(study_db, tmp_path):
    projects = tmp_path / "projects.csv"
    with open(projects, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(tidy.columns("projects")[:7])
        writer.writerows([f"P{n}", f"Project {n}", f, "", "external", "", "active"] for n, f in enumerate(FORMULAS[:4]))
        writer.writerow(["P9", "Project 9", "community", "", "external", "", "active"])
    interviews = tmp_path / "interviews.csv"
    interviews.write_text(
        "interview_id,participant_code,project_code,wave,interview_date,mode,interviewer,duration_min,status\n"
        "1,P9-01,P9,baseline,2025-02-01,telephone,Sam,-5,completed\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as refused:
        service.plan_import(study_db, service.read_paths([projects, interviews]), today=DEMO_TODAY)
    header, *problems = rows(service.problems_csv(refused.value.problems))
    values = [row[header.index("Value")] for row in problems]
    assert ["'" + f for f in FORMULAS[:4]] == [v for v in values if v.startswith("'")]
    assert "-5" in values, "a negative number stays a number"
    assert not [cell for row in problems for cell in row if runs_as_a_formula(cell)]
    assert [row[header.index("Row")] for row in problems][:4] == ["2", "3", "4", "5"]


def test_csv_bytes_neutralises_text_cells_only():
    import pandas as pd

    frame = pd.DataFrame({"text": [*FORMULAS, "-2", "fine"], "n": [-1, -2, 3, 4, 5, 6, 7, 8]})
    kept = pd.DataFrame({"text": [False] * 7 + [True], "n": [False] * 8})
    header, *lines = rows(tidy.csv_bytes(frame, keep=kept))
    assert [line[0] for line in lines] == [*("'" + f for f in FORMULAS), "-2", "fine"]
    assert [line[1] for line in lines] == ["-1", "-2", "3", "4", "5", "6", "7", "8"]
    assert redcap.NUMBERED_CHOICES and re.match(redcap.NUMBERED_CHOICES, RATING_CHOICES)
