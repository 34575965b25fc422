"""Access rules hold where data is read: every storage read, every page, every role (DESIGN §4)."""

import dataclasses
import importlib
import inspect
import pkgutil
import re

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.formats import tidy
from innovation_tracker.storage.access import SCOPED_READS
from tests.conftest import DEMO_TODAY

TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
FUNDER = Viewer("demo-funder", AccountRole.FUNDER)

# Public storage functions that are not reads of project data, and why they need no viewer.
UNSCOPED = {
    "connect": "opens the database",
    "schedule_inputs": "study settings (editors only): every schedule recomputed under changed waves",
    "uses_of": "study settings (editors only): counts the records that point at a code",
    "search_words": "pure: splits a search into words, reads nothing",
    "migrate": "schema",
    "refuse_newer": "schema: refuses a database migrated by a newer app",
    "exclusive": "a lock across servers; reads nothing",
    "time_limit": "cancels a statement past its time (PostgreSQL's statement_timeout); reads nothing",
    "has_tables": "restore: whether a PostgreSQL database is empty; names no data",
    "schema_version": "schema",
    "shipped_migrations": "schema",
    "transaction": "write machinery",
    "write": "write machinery",
    "is_postgres": "backend choice: reads a URL, not the database",
    "catalogue_of": "dialect: the PostgreSQL schema's tables and keys",
    "to_postgres": "dialect: rewrites SQL text, reads nothing",
    "postgres_type": "dialect: a column type for registered frames",
    "record_audit": "writes an audit entry",
    "keeping": "read machinery: where kept reads are stored while a page is built; reads nothing",
    "kept": "read machinery: marks a read as kept per data version; the viewer's scope is part of every key",
    "kept_by_project": "read machinery: marks a read as kept and brought up to date per project after a write",
    "changed_projects": "the codes of the projects written since a data version, for the cache; no project data",
    "only_projects": "SQL text: the condition that narrows a kept read to some projects; reads nothing",
    "together": "read machinery: runs the caller's scoped reads side by side; reads nothing itself",
    "in_context": "read machinery: runs a call in the caller's context on a worker thread",
    "data_version": "a number that changes on every write; reveals nothing",
    "through": "the shelf (PostgreSQL): a kept read's own frame, keyed by its viewer's scope, stored or taken back",
    "available": "the shelf: whether the database has one; reads nothing",
    "forget": "the shelf: empties it (after an erasure); reads nothing",
    "digest": "the shelf: a key's name, a hash; reads nothing",
    "encode": "the shelf: a frame as bytes; reads nothing",
    "shelf_code": "the shelf: a hash of this package's source; reads nothing",
    "get_study": "study name and dates, shown to everyone",
    "list_waves": "the schedule, shown to everyone",
    "list_factors": "the codebook, shown to everyone",
    "list_indicators": "the indicator set, shown to everyone",
    "finished_round_share": "a study setting (when a round counts as finished), shown to everyone",
    "insert_frames": "import (editors only, checked by the caller)",
    "known_interviews": "import checks (editors only)",
    "known_participants": "import checks (editors only)",
    "known_keys": "import checks (editors only)",
    "max_milestone_id": "import checks (editors only)",
    "table_counts": "row counts for import checks and tests",
    "compare_rows": "import plan: incoming rows against stored ones (editors only)",
    "compared_columns": "names of columns; no data",
    "export_queries": "SQL text, scoped to the viewer it is given (scoped_sql); no data",
    "copy_export": "writes files through export_queries, scoped to the viewer; test_import_export_page checks a team's",
    "wide_sql": "SQL text; wide_table is its scoped read",
    "is_empty": "whether a study exists",
    "get_account": "log-in and account rules; used only by accounts.py",
    "find_account_by_email": "single sign-on; used only by accounts.py",
    "count_accounts": "first-run check; a number",
    "count_active_admins": "account rules; a number",
    "find_session": "who the viewer is, from a session token's hash; used only by sessions.py",
    "touch_session": "writes a session's last use",
    "revoke_session": "ends a session (a write)",
    "revoke_sessions": "ends an account's sessions (a write)",
    "forget_sessions": "deletes sessions that have ended (a write)",
    "forget_all_sessions": "deletes every session after a restore (a write)",
    "min_role_group": "the study's k for de-identification; a number",
    "neutral_mixed": "whether the codebook declares the neutral and mixed ratings; a flag",
}
WRITE_PREFIXES = (
    "add_",
    "update_",
    "delete_",
    "set_",
    "withdraw_",
    "erase_",
    "restore_",
    "create_",
    "deactivate_",
    "reactivate_",
    "record_",
    "insert_",
    "lock_",
    "unlock_",
    "reset_",
    "remove_",
    "replace_",
)
SAMPLE_ARGS = {
    "today": DEMO_TODAY,
    "wave": "month_6",
    "indicator_code": "outlook",
    "horizon_days": 30,
    "text": "e",  # a search: one letter finds nearly every excerpt and summary
    "factor_code": "ctx_team_expertise",
    "interview_id": 7,  # an ARTS interview of the demo, double-coded and reconciled
}
DEMO_PROJECTS = ("ARTS", "BEAT", "CARE", "EMPL", "GROW", "LIAS", "PEER", "RSCH", "SANC", "SENT", "WEB")


def public_storage_functions():
    found = {}
    for module_info in pkgutil.iter_modules(storage.__path__):
        module = importlib.import_module(f"innovation_tracker.storage.{module_info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                found[name] = fn
    return found


def test_every_public_storage_function_is_scoped_or_explained():
    unexplained = [
        name
        for name in public_storage_functions()
        if name not in SCOPED_READS
        and name not in UNSCOPED
        and not name.startswith(WRITE_PREFIXES)
        and name
        not in (
            "scoped_read",
            "scoped_sql",
            "scope_ctes",
            "scope_params",
            "query",
            "query_one",
            "query_rows",
            "translate",
        )
    ]
    assert unexplained == [], "register these with @scoped_read, or explain them in UNSCOPED"


def calls(fn):
    """Every way to call a scoped read with sample arguments: once per tidy table, once per project."""
    params = list(inspect.signature(fn).parameters)[2:]
    if params == ["table"]:
        return [(table,) for table in tidy.TABLES]
    if params and params[0] == "project_code":
        rest = calls_with(params[1:], fn)
        return [(code, *args) for code in DEMO_PROJECTS for args in rest]
    return calls_with(params, fn)


def calls_with(params, fn):
    missing = [
        p
        for p in params
        if p not in SAMPLE_ARGS and inspect.signature(fn).parameters[p].default is inspect.Parameter.empty
    ]
    assert not missing, f"add sample values for {missing} to SAMPLE_ARGS"
    return [tuple(SAMPLE_ARGS[p] for p in params if p in SAMPLE_ARGS)]


def as_text(result) -> str:
    """Everything a read returned, in full: a frame's repr would elide the middle rows."""
    if isinstance(result, pd.DataFrame):
        return result.to_csv(index=False)
    if dataclasses.is_dataclass(result):
        return "\n".join(f"{f.name}: {as_text(getattr(result, f.name))}" for f in dataclasses.fields(result))
    if isinstance(result, dict):
        return "\n".join(f"{key}: {as_text(value)}" for key, value in result.items())
    return repr(result)


@pytest.fixture(scope="module")
def demo(demo_database):
    con = storage.connect(demo_database)
    others = con.execute("SELECT project_code, name FROM project WHERE project_code <> 'ARTS'").fetchall()
    codes = [r[0] for r in con.execute("SELECT participant_code FROM participant").fetchall()]
    summaries = [
        r[0] for r in con.execute("SELECT DISTINCT summary FROM interview WHERE summary IS NOT NULL").fetchall()
    ]
    unshared = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT evidence FROM factor_rating WHERE evidence IS NOT NULL AND NOT shareable"
            " EXCEPT SELECT evidence FROM factor_rating WHERE shareable"
        ).fetchall()
    ]
    assert others and codes and summaries and unshared, "the demo must exercise every rule"
    yield con, others, codes, summaries, unshared
    con.close()


@pytest.mark.parametrize("name", sorted(SCOPED_READS))
def test_a_team_never_receives_another_projects_rows(demo, name):
    con, others, *_ = demo
    for args in calls(SCOPED_READS[name]):
        text = as_text(SCOPED_READS[name](con, TEAM, *args))
        for code, project_name in others:
            assert not re.search(rf"\b{re.escape(code)}\b", text), f"{name}{args} leaks {code}"
            assert project_name not in text, f"{name}{args} leaks {project_name}"


@pytest.mark.parametrize("viewer", [FUNDER, TEAM], ids=["funder", "team"])
@pytest.mark.parametrize("name", sorted(SCOPED_READS))
def test_de_identified_viewers_never_receive_codes_summaries_or_unshared_excerpts(demo, name, viewer):
    con, _, codes, summaries, unshared = demo
    for args in calls(SCOPED_READS[name]):
        text = as_text(SCOPED_READS[name](con, viewer, *args))
        leaked = [c for c in codes if re.search(rf"\b{re.escape(c)}\b", text)]
        assert not leaked, f"{name}{args} leaks participant codes {leaked[:3]}"
        assert not [s for s in summaries if s in text], f"{name}{args} leaks interview summaries"
        assert not [e for e in unshared if e in text], f"{name}{args} leaks unshared excerpts"


def test_de_identified_participants_read_as_role_and_letter(demo):
    con, *_ = demo
    people = storage.read_table(con, FUNDER, "participants")
    assert len(people) == 65
    assert people.participant_code.str.fullmatch(r"[A-Z]+ · [A-Z][a-z -]+ [A-Z]").all()
    assert "ARTS · Service user A" in set(people.participant_code)
    assert people.participant_code.is_unique


def test_a_team_sees_all_of_its_own_project(demo):
    con, *_ = demo
    mine = storage.read_table(con, TEAM, "interviews")
    everything = con.execute(
        "SELECT count(*) FROM interview JOIN participant USING (participant_code) WHERE project_code = 'ARTS'"
    ).fetchone()[0]
    assert len(mine) == everything > 0
    assert set(mine.project_code) == {"ARTS"}


def test_a_team_with_no_projects_sees_nothing(demo):
    con, *_ = demo
    nobody = Viewer("orphan", AccountRole.TEAM, frozenset())
    assert storage.project_list(con, nobody).empty
    assert storage.headline_counts(con, nobody, DEMO_TODAY)["participants"] == 0
