"""Study settings: the codebook, indicators, waves and study details changed in the app, each change audited, bad
changes refused with the field named, and no stored rating lost or orphaned by any of them."""

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service, study_settings
from innovation_tracker.domain.errors import AccessDenied, ValidationError
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.formats import demo
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support import cfir_study
from tests.support.apptest import open_codebook, open_page, open_tab

FUNDER = Viewer("fun", AccountRole.FUNDER)


def ratings(con):
    return storage.read_table(con, EVALUATOR, "factor_ratings")


def last_audit(con):
    action, entity, key, before, after = con.execute(
        "SELECT action, entity, entity_key, before, after FROM audit_entry ORDER BY audit_id DESC LIMIT 1"
    ).fetchone()
    return action, entity, key, json.loads(before) if before else None, json.loads(after) if after else None


def test_a_factor_is_added_edited_and_retired_with_every_change_audited_and_no_rating_touched(seeded):
    before = ratings(seeded)
    study_settings.add_factor(
        seeded, EVALUATOR, code="ctx_peer_network", domain="Context", kind="either", label="Peer network",
        description="Links with other peer-led services",
    )  # fmt: skip
    added = storage.list_factors(seeded)[-1]
    assert (added.factor_code, added.domain, added.kind, added.label, added.retired) == (
        "ctx_peer_network", "context", "either", "Peer network", False,
    )  # fmt: skip
    assert last_audit(seeded)[:3] == ("create", "factor", "ctx_peer_network")
    study_settings.edit_factor(seeded, EVALUATOR, "ctx_team_expertise", label="Team skills", description="New words")
    _, _, _, was, now = last_audit(seeded)
    assert (was["label"], now["label"], now["description"]) == ("Team expertise", "Team skills", "New words")
    study_settings.retire_factor(seeded, EVALUATOR, "ctx_team_expertise")
    assert last_audit(seeded)[3:] == ({"retired": False}, {"retired": True})
    assert {f.factor_code: f.retired for f in storage.list_factors(seeded)}["ctx_team_expertise"] is True
    after = ratings(seeded)
    changed = before.factor_code == "ctx_team_expertise"
    assert after.drop(columns="factor_code").equals(before.drop(columns="factor_code"))
    assert (after.factor_code == before.factor_code).all() and changed.sum() > 0
    study_settings.retire_factor(seeded, EVALUATOR, "ctx_team_expertise", retired=False)
    assert {f.factor_code: f.retired for f in storage.list_factors(seeded)}["ctx_team_expertise"] is False


@pytest.mark.parametrize(
    "fields, field, rule",
    [
        ({"code": "Bad Code"}, "code", "code_format"),
        ({"code": "ctx_team_expertise"}, "code", "duplicate"),
        ({"label": " "}, "label", "required"),
        ({"kind": "neutral"}, "kind", "allowed_values"),
    ],
)
def test_a_bad_new_factor_names_its_field_and_saves_nothing(seeded, fields, field, rule):
    counts = storage.table_counts(seeded)
    given = {"code": "ctx_x", "domain": "context", "kind": "barrier", "label": "X", "description": ""} | fields
    with pytest.raises(ValidationError) as refused:
        study_settings.add_factor(seeded, EVALUATOR, **given)
    assert [(p.field, p.rule) for p in refused.value.problems] == [(field, rule)]
    assert storage.table_counts(seeded) == counts


def test_re_timing_a_wave_that_would_strand_interviews_is_refused_with_them_listed(seeded):
    waves = storage.list_waves(seeded)
    with pytest.raises(ValidationError) as refused:
        study_settings.retime_wave(seeded, EVALUATOR, "month_3", label="3-month", offset=120, before=5, after=5,
                                   mode="telephone")  # fmt: skip
    message = refused.value.problems[0].message
    assert refused.value.problems[0].rule == "strands_interviews" and "ARTS-01 month_3 on" in message
    stranded = int(message.split("leave ")[1].split(" ")[0])
    done = seeded.execute("SELECT count(*) FROM interview WHERE wave = 'month_3'").fetchone()[0]
    assert 0 < stranded <= done
    assert storage.list_waves(seeded) == waves


def test_a_wider_window_is_saved_audited_and_moves_no_interview(seeded):
    interviews = storage.read_table(seeded, EVALUATOR, "interviews")
    study_settings.retime_wave(seeded, EVALUATOR, "month_3", label="3-month follow-up", offset=91, before=28,
                               after=28, mode="telephone")  # fmt: skip
    wave = storage.list_waves(seeded)[1]
    assert (wave.window_before_days, wave.window_after_days) == (28, 28)
    _, entity, key, was, now = last_audit(seeded)
    assert (entity, key, was["window_before_days"], now["window_before_days"]) == ("wave", "month_3", 21, 28)
    assert storage.read_table(seeded, EVALUATOR, "interviews").equals(interviews)


def test_a_new_wave_comes_after_the_last_and_strands_nobody(seeded):
    with pytest.raises(ValidationError, match="after the last one"):
        study_settings.add_wave(seeded, EVALUATOR, code="month_7", label="7", offset=200, before=7, after=7,
                                mode="telephone")  # fmt: skip
    study_settings.add_wave(seeded, EVALUATOR, code="month_18", label="18-month follow-up", offset=547, before=21,
                            after=21, mode="telephone")  # fmt: skip
    assert [w.wave for w in storage.list_waves(seeded)][-1] == "month_18"


def test_the_study_dates_must_hold_every_stored_date(seeded):
    study = storage.get_study(seeded)
    with pytest.raises(ValidationError) as refused:
        study_settings.change_study(seeded, EVALUATOR, name="X", funder="", start_date=dt.date(2025, 9, 1),
                                    end_date=dt.date(2025, 8, 1))  # fmt: skip
    assert {(p.field, p.rule) for p in refused.value.problems} == {
        ("end_date", "end_after_start"), ("start_date", "data_outside_study"), ("end_date", "data_outside_study"),
    }  # fmt: skip
    assert storage.get_study(seeded) == study
    study_settings.change_study(seeded, EVALUATOR, name="Renamed", funder="Fund", start_date=study.start_date,
                                end_date=study.end_date + dt.timedelta(days=30))  # fmt: skip
    changed = storage.get_study(seeded)
    assert (changed.name, changed.funder, changed.end_date) == ("Renamed", "Fund", study.end_date + dt.timedelta(30))


def test_only_editors_change_settings(seeded):
    with pytest.raises(AccessDenied):
        study_settings.retire_factor(seeded, FUNDER, "ctx_team_expertise")


def test_the_settings_page_form_follows_the_factor_picked_and_changes_one_field(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/settings.py")
    assert [t.label for t in at.tabs] == ["Study", "Codebook", "Indicators", "Waves"]
    assert at.text_input(key="study:name").value == demo.STUDY_NAME
    assert not [w for w in at.selectbox if w.key == "factor:pick"]  # only the open tab is drawn
    at = open_tab(at, "settings:tab", "Codebook")
    assert not [w for w in at.text_input if w.key == "study:name"]
    at.selectbox(key="factor:pick").set_value("ctx_supportive_team").run()
    label = at.text_input(key="factor-ctx_supportive_team:label")
    assert label.value == "Supportive team"
    label.input("A supportive team")
    next(b for b in at.button if b.label == "Save the label and definition").click().run()
    assert not at.exception
    con = storage.connect(seeded_path)
    factors = {f.factor_code: f for f in storage.list_factors(con)}
    _, entity, key, was, now = last_audit(con)
    con.close()
    assert factors["ctx_supportive_team"].label == "A supportive team"
    assert (entity, key) == ("factor", "ctx_supportive_team")
    assert {k for k in now if now[k] != was[k]} == {"label"}


def test_the_settings_page_shows_a_stranding_change_next_to_the_field(monkeypatch, seeded_path):
    at = open_tab(open_page(monkeypatch, seeded_path, "pages/settings.py"), "settings:tab", "Waves")
    at.selectbox(key="wave:pick").set_value("month_3").run()
    at.number_input(key="wave-month_3:offset").set_value(150)
    next(b for b in at.button if b.label == "Save the wave").click().run()
    errors = [e.value for e in at.error]
    assert any("stored interviews outside every window" in e for e in errors), errors
    con = storage.connect(seeded_path)
    assert storage.list_waves(con)[1].offset_days == 91
    con.close()


def test_the_settings_page_is_for_editors_only(monkeypatch, seeded_path):
    with pytest.raises(Exception):  # noqa: B017 - Streamlit refuses a page that is not registered for the role
        open_page(monkeypatch, seeded_path, "pages/settings.py", viewer=FUNDER, today=DEMO_TODAY)


def test_a_retired_factor_is_not_offered_for_new_coding(monkeypatch, seeded_path):
    query = {"project": "EMPL", "participant": "EMPL-01", "wave": "month_12"}
    at = open_codebook(open_page(monkeypatch, seeded_path, "pages/log-interview.py", **query))
    offered = {c.label for c in at.get("segmented_control")}
    assert "Rating of Team expertise" in offered
    con = storage.connect(seeded_path)
    study_settings.retire_factor(con, EVALUATOR, "ctx_team_expertise")
    con.close()
    at = open_codebook(open_page(monkeypatch, seeded_path, "pages/log-interview.py", **query))
    offered_now = {c.label for c in at.get("segmented_control")}
    assert offered - offered_now == {"Rating of Team expertise"}


def export(con, folder):
    service.export_study(con, EVALUATOR, folder)
    return {p.name: pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(folder.iterdir())}


def changed_rows(before: pd.DataFrame, after: pd.DataFrame, key: str) -> dict:
    """Per key, the columns whose value differs (added rows: "added"; removed rows: "removed")."""
    was, now = before.set_index(key), after.set_index(key)
    found = {k: "added" for k in now.index.difference(was.index)} | {
        k: "removed" for k in was.index.difference(now.index)
    }
    for k in now.index.intersection(was.index):
        differing = [c for c in now.columns if now.at[k, c] != was.at[k, c]]
        if differing:
            found[k] = differing
    return found


@pytest.mark.parametrize("codebook", ["brooks2011", "cfir2"])
def test_a_series_of_settings_changes_loses_no_rating_and_changes_only_what_was_intended(tmp_path, demo_file, codebook):
    """Export before and after: add a factor, relabel one, retire one, add an indicator, retire one, widen a wave's
    window, add a wave and rename the study. The ratings, interviews and every other table stay byte for byte; the
    codebook, indicators, waves and study differ only where asked. Importing the after-export into a new database
    gives the same export again (the retired flags included)."""
    path = tmp_path / "study.duckdb"
    if codebook == "cfir2":
        cfir_study.build(path)
    else:
        shutil.copy(demo_file, path)
    con = storage.connect(path)
    first, retired = [f.factor_code for f in storage.list_factors(con) if uses(con, f.factor_code)][:2]
    before = export(con, tmp_path / "before")
    study_settings.add_factor(con, EVALUATOR, code="zz_new_factor", domain=storage.list_factors(con)[0].domain,
                              kind="either", label="A new factor", description="Added mid-study")  # fmt: skip
    study_settings.edit_factor(con, EVALUATOR, first, label="Relabelled", description="New words")
    study_settings.retire_factor(con, EVALUATOR, retired)
    study_settings.add_indicator(con, EVALUATOR, code="peer_workers", label="Peer workers in post", value_type="count",
                                 min_value=None, max_value=None, better="higher", description="")  # fmt: skip
    study_settings.retire_indicator(con, EVALUATOR, "host_stability")
    study_settings.retime_wave(con, EVALUATOR, "month_3", label="3-month follow-up", offset=91, before=28, after=28,
                               mode="telephone")  # fmt: skip
    study = storage.get_study(con)
    study_settings.add_wave(con, EVALUATOR, code="month_15", label="15-month follow-up", offset=456, before=21,
                            after=21, mode="telephone")  # fmt: skip
    study_settings.change_study(con, EVALUATOR, name="Renamed study", funder=study.funder or "",
                                start_date=study.start_date, end_date=study.end_date)  # fmt: skip
    after = export(con, tmp_path / "after")
    con.close()
    untouched = {"projects.csv", "participants.csv", "interviews.csv", "sustainability.csv", "milestones.csv"}
    for name in untouched | {"factor_ratings.csv"}:
        assert after[name].equals(before[name]), name
    assert changed_rows(before["codebook.csv"], after["codebook.csv"], "factor_code") == {
        "zz_new_factor": "added", first: ["label", "description"], retired: ["retired"],
    }  # fmt: skip
    assert changed_rows(before["indicators.csv"], after["indicators.csv"], "indicator_code") == {
        "peer_workers": "added", "host_stability": ["retired"],
    }  # fmt: skip
    assert changed_rows(before["waves.csv"], after["waves.csv"], "wave") == {
        "month_3": ["window_before_days", "window_after_days"], "month_15": "added",
    }  # fmt: skip
    assert changed_rows(before["study.csv"], after["study.csv"], "start_date") == {
        before["study.csv"].start_date[0]: ["name"]
    }
    copy = storage.connect(tmp_path / "copy.duckdb")
    files = [p for p in (tmp_path / "after").iterdir() if p.name != "wide.csv"]
    service.import_files(copy, files, today=cfir_study.BUILT_ON if codebook == "cfir2" else DEMO_TODAY, actor="t")
    again = export(copy, tmp_path / "again")
    copy.close()
    for name, frame in after.items():
        assert again[name].equals(frame), name


def uses(con, factor_code):
    return storage.uses_of(con, "factor", factor_code)
