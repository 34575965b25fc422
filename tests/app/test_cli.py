import subprocess
import sys

import pytest

from innovation_tracker import storage
from innovation_tracker.cli import build_parser, main

COMMANDS = ["demo", "init", "export", "import", "users", "redcap-dictionary", "report", "backup", "restore", "settings"]
USERS_ACTIONS = ["add", "list", "set-role", "set-password", "deactivate", "reactivate"]


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "innovation_tracker", *args], capture_output=True, text=True, timeout=120
    )


def test_every_command_has_help_text():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert sorted(subparsers.choices) == sorted(COMMANDS)
    users = next(a for a in subparsers.choices["users"]._actions if a.dest == "users_command")
    assert sorted(users.choices) == sorted(USERS_ACTIONS)
    named = [*subparsers.choices.items(), *((f"users {n}", sub) for n, sub in users.choices.items())]
    for name, sub in named:
        assert sub.description, f"{name} has no description"
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest} has no help"
            if action.dest == "db":
                assert "DuckDB file" in action.help and "postgresql:// URL" in action.help, f"{name} --db"


@pytest.mark.parametrize("command", COMMANDS + [f"users {action}" for action in USERS_ACTIONS])
def test_help_runs(command):
    result = run(*command.split(), "--help")
    assert result.returncode == 0 and "usage: python -m innovation_tracker " + command in result.stdout


def test_demo_export_import_from_the_command_line(tmp_path):
    result = run("demo", "--db", str(tmp_path / "a.duckdb"), "--today", "2026-03-02")
    assert result.returncode == 0, result.stderr
    assert "11 projects, 65 participants" in result.stdout
    assert run("export", "--db", str(tmp_path / "a.duckdb"), "--out", str(tmp_path / "out")).returncode == 0
    files = sorted(str(p) for p in (tmp_path / "out").glob("*.csv"))
    result = run("import", "--db", str(tmp_path / "b.duckdb"), "--today", "2026-03-02", *files)
    assert result.returncode == 0, result.stderr
    con = storage.connect(tmp_path / "b.duckdb")
    assert con.execute("SELECT count(*) FROM participant").fetchone()[0] == 65


def test_demo_refuses_to_overwrite_a_study(tmp_path, capsys):
    path = str(tmp_path / "a.duckdb")
    assert main(["init", "--db", path, "--name", "Mine", "--start", "2025-01-01"]) == 0
    assert main(["demo", "--db", path]) == 1
    assert "already holds a study" in capsys.readouterr().err


def test_a_bad_import_exits_non_zero_with_the_report(tmp_path, capsys):
    path = str(tmp_path / "a.duckdb")
    assert main(["init", "--db", path, "--start", "2025-01-01"]) == 0
    bad = tmp_path / "projects.csv"
    bad.write_text(
        "project_code,name,setting,host_organisation,relation_to_statutory,start_date,status\n"
        "ART,Arts,seaside,,external,,active\n",
        encoding="utf-8",
    )
    assert main(["import", "--db", path, str(bad)]) == 2
    err = capsys.readouterr().err
    assert "nothing was written" in err and "projects.csv, row 2, setting: 'seaside' is not one of" in err
    assert storage.connect(path).execute("SELECT count(*) FROM project").fetchone()[0] == 0


def test_a_bad_date_argument_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--db", "x.duckdb", "--today", "March"])
    assert "'March' is not a date in the form YYYY-MM-DD" in capsys.readouterr().err
