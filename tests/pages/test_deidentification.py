"""De-identification that holds in small projects: funders and teams never see a role held by fewer than k
participants of a project, through any read, page, export or report (roles that small are pooled as
"Stakeholder", DESIGN §4). Run on the demo study, whose projects have one manager each."""

import io
import re
import shutil
import zipfile

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.cli import main
from innovation_tracker.domain.errors import AccessDenied, NotFound, ValidationError
from innovation_tracker.domain.model import AccountRole, Role, Viewer, label_of
from innovation_tracker.storage.access import SCOPED_READS
from innovation_tracker.ui.navigation import pages_for
from innovation_tracker.views import reports
from tests.conftest import DEMO_TODAY
from tests.storage.test_access import DEMO_PROJECTS, as_text, calls
from tests.support.apptest import everything_shown, open_page

FUNDER = Viewer("demo-funder", AccountRole.FUNDER)
EVALUATOR = Viewer("demo-evaluator", AccountRole.EVALUATOR)
TEAMS = {code: Viewer(f"demo-team-{code.lower()}", AccountRole.TEAM, frozenset({code})) for code in DEMO_PROJECTS}
DE_IDENTIFIED = {"funder": FUNDER} | {f"team-{code}": viewer for code, viewer in TEAMS.items()}
LABELS = {label_of(r.value): r.value for r in Role} | {"Stakeholder": "stakeholder"}
PSEUDONYM = re.compile(r"\b([A-Z][A-Z0-9_-]{0,15}) · (" + "|".join(map(re.escape, LABELS)) + r") ([A-Z]|\d+)\b")


def role_counts(con) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for project, role, n in con.execute("SELECT project_code, role, count(*) FROM participant GROUP BY ALL").fetchall():
        counts.setdefault(project, {})[role] = n
    return counts


class Holders:
    """The real holders of each role per project, and what may be shown with k."""

    def __init__(self, con, k: int = 3):
        self.k = k
        self.counts = role_counts(con)
        self.small = {p: {label_of(r) for r, n in roles.items() if n < k} for p, roles in self.counts.items()}
        assert all(self.small.values()), "every demo project has a role held by fewer than 3 (its one manager)"

    def check_pseudonyms(self, text: str, where: str) -> set[tuple[str, str, str]]:
        found = set(PSEUDONYM.findall(text))
        for project, label, _ in found:
            assert label not in self.small[project], f"{where} shows '{project} · {label}' ({self.k=})"
        return found

    def check_roles(self, frame: pd.DataFrame, where: str) -> None:
        if {"project_code", "role"} <= set(frame.columns):
            shown = {(p, label_of(r)) for p, r in frame[["project_code", "role"]].drop_duplicates().itertuples(False)}
            bad = [(p, label) for p, label in shown if label in self.small.get(p, ())]
            assert not bad, f"{where} breaks down by a role held by fewer than {self.k}: {bad}"


@pytest.fixture(scope="module")
def demo(demo_file, tmp_path_factory):
    """A copy of the demo for this module: exports and reports write audit entries, which other tests' copies of
    the session's demo file must not inherit."""
    path = tmp_path_factory.mktemp("deidentification") / "demo.duckdb"
    shutil.copy(demo_file, path)
    con = storage.connect(path)
    yield con, Holders(con)
    con.close()


def test_pooling_follows_k_on_the_demo(demo):
    con, holders = demo
    people = storage.read_table(con, FUNDER, "participants")
    arts = people[people.project_code == "ARTS"]
    # ARTS: 3 service users, and one manager, one health professional and one non-health professional
    assert holders.counts["ARTS"] == {"service_user": 3, "manager": 1, "health_professional": 1,
                                      "non_health_professional": 1}  # fmt: skip
    assert sorted(arts.participant_code) == [
        "ARTS · Service user A", "ARTS · Service user B", "ARTS · Service user C",
        "ARTS · Stakeholder A", "ARTS · Stakeholder B", "ARTS · Stakeholder C",
    ]  # fmt: skip
    assert sorted(arts.role) == ["service_user"] * 3 + ["stakeholder"] * 3
    # every project: a pooled group is never smaller than k either (the next smallest role joins it)
    for project, group in people.groupby("project_code"):
        assert group.role.value_counts().min() >= 3, project
    # evaluators see the study as stored
    assert set(storage.read_table(con, EVALUATOR, "participants").role) == {r.value for r in Role}


# The funder and one team in the fast suite; every other team in the slow one.
EVERY_VIEWER = [
    who if who in ("funder", "team-ARTS") else pytest.param(who, marks=pytest.mark.slow) for who in DE_IDENTIFIED
]


@pytest.mark.parametrize("who", EVERY_VIEWER)
def test_no_read_gives_a_de_identified_viewer_a_role_held_by_fewer_than_k(demo, who):
    con, holders = demo
    viewer = DE_IDENTIFIED[who]
    seen = set()
    for name, read in sorted(SCOPED_READS.items()):
        for args in calls(read):
            try:
                result = read(con, viewer, *args)
            except NotFound:  # a read of one record outside the viewer's projects refuses: it gives them nothing
                continue
            seen |= holders.check_pseudonyms(as_text(result), f"{name}{args}")
            for frame in result.values() if isinstance(result, dict) else [result]:
                if isinstance(frame, pd.DataFrame):
                    holders.check_roles(frame, f"{name}{args}")
    projects = viewer.projects or set(DEMO_PROJECTS)
    assert {p for p, label, _ in seen if label == "Stakeholder"} == set(projects), "the check saw every project"


@pytest.mark.parametrize("who", ["funder", "team-ARTS", "team-LIAS"])
def test_no_export_file_gives_a_role_held_by_fewer_than_k(demo, tmp_path, who):
    con, holders = demo
    paths = service.export_study(con, DE_IDENTIFIED[who], tmp_path, "csv")
    assert paths
    for path in paths:
        text = path.read_text(encoding="utf-8")
        holders.check_pseudonyms(text, path.name)
        holders.check_roles(pd.read_csv(path), path.name)
    people = pd.read_csv(tmp_path / "participants.csv")
    assert "stakeholder" in set(people.role)


@pytest.mark.parametrize(
    "project", [None, "ARTS", *(pytest.param(code, marks=pytest.mark.slow) for code in DEMO_PROJECTS[1:])]
)
def test_no_report_gives_a_role_held_by_fewer_than_k(demo, project):
    con, holders = demo
    for viewer in [FUNDER, TEAMS[project]] if project else [FUNDER]:
        _, html = reports.build(con, viewer, today=DEMO_TODAY, project_code=project, fmt="html")
        text = html.decode("utf-8")
        holders.check_pseudonyms(text, f"report {project} for {viewer.username}")
        for label in holders.small.get(project, ()):
            assert f"· {label}" not in text, f"report on {project} quotes a {label}"
        assert "roles held by fewer than 3 participants of a project appear as Stakeholder" in text


@pytest.mark.slow
@pytest.mark.parametrize("who", ["funder", "team-ARTS", "team-CARE"])
def test_no_page_gives_a_role_held_by_fewer_than_k(monkeypatch, seeded_path, demo, who):
    _, holders = demo
    viewer = DE_IDENTIFIED[who]
    for project in sorted(viewer.projects or DEMO_PROJECTS):
        at = open_page(monkeypatch, seeded_path, "pages/timeline.py", viewer, DEMO_TODAY, project=project)
        found = holders.check_pseudonyms(everything_shown(at), f"timeline of {project}")
        assert any(label == "Stakeholder" for _, label, _ in found), f"the timeline of {project} names its people"
        roles = [m for m in at.multiselect if m.label == "Role"]
        if roles:
            offered = set(roles[0].options)
            assert not offered & holders.small[project], f"the evidence of {project} filters by {offered}"
        assert any("fewer than 3 participants" in c.value for c in at.caption)
    others = [spec.path for spec in pages_for(viewer) if spec.path != "pages/timeline.py"]
    assert len(others) >= 4
    for page in others:
        at = open_page(monkeypatch, seeded_path, page, viewer, DEMO_TODAY)
        holders.check_pseudonyms(everything_shown(at), page)


def test_k_is_a_study_setting_changed_by_editors_and_audited(seeded):
    assert storage.min_role_group(seeded) == 3
    with pytest.raises(AccessDenied):
        service.set_min_role_group(seeded, FUNDER, 1)
    for wrong in (0, 51, 2.5):
        with pytest.raises(ValidationError, match="k must be a whole number from 1 to 50"):
            service.set_min_role_group(seeded, EVALUATOR, wrong)
    service.set_min_role_group(seeded, EVALUATOR, 1)
    people = storage.read_table(seeded, FUNDER, "participants")
    assert "ARTS · Manager A" in set(people.participant_code), "k = 1 turns pooling off"
    service.set_min_role_group(seeded, EVALUATOR, 4)
    holders = Holders(seeded, k=4)
    people = storage.read_table(seeded, FUNDER, "participants")
    holders.check_pseudonyms(as_text(people), "participants with k = 4")
    holders.check_roles(people, "participants with k = 4")
    assert set(people[people.project_code == "ARTS"].role) == {"stakeholder"}, "3 service users < 4"
    audit = seeded.execute(
        "SELECT actor, before, after FROM audit_entry WHERE entity = 'study' AND entity_key = 'min_role_group'"
        " ORDER BY audit_id"
    ).fetchall()
    assert [(a, b, c) for a, b, c in audit] == [
        ("demo-evaluator", '{"min_role_group": 3}', '{"min_role_group": 1}'),
        ("demo-evaluator", '{"min_role_group": 1}', '{"min_role_group": 4}'),
    ]


def test_the_cli_shows_and_sets_k(seeded_path, capsys):
    assert main(["settings", "--db", str(seeded_path)]) == 0
    assert "min-role-group (k) = 3" in capsys.readouterr().out
    assert main(["settings", "--db", str(seeded_path), "--min-role-group", "5"]) == 0
    assert "min-role-group (k) = 5" in capsys.readouterr().out
    assert main(["settings", "--db", str(seeded_path), "--min-role-group", "0"]) == 2
    assert "k must be a whole number from 1 to 50" in capsys.readouterr().err
    con = storage.connect(seeded_path)
    assert storage.min_role_group(con) == 5
    assert (
        con.execute("SELECT actor FROM audit_entry WHERE entity_key = 'min_role_group'")
        .fetchone()[0]
        .startswith("cli:")
    )
    con.close()


def test_an_export_download_for_a_funder_is_pooled_too(demo):
    con, holders = demo
    name, data = service.export_download(con, FUNDER, "csv")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.namelist():
            holders.check_pseudonyms(archive.read(member).decode("utf-8"), f"{name}/{member}")
