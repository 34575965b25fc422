"""Every command given a path it cannot use (missing, a folder, unreadable) prints one line and exits 2, and
creates nothing; an import that fails leaves no file or folder behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from innovation_tracker.cli import main

# Each command with {db} (an existing database unless the case says otherwise), {file} (an input file), {out}.
COMMANDS = {
    "export": ["export", "--db", "{db}", "--out", "{out}"],
    "import": ["import", "--db", "{db}", "{file}"],
    "users list": ["users", "list", "--db", "{db}"],
    "users add": ["users", "add", "--db", "{db}", "tess", "--role", "admin", "--password-stdin"],
    "users set-role": ["users", "set-role", "--db", "{db}", "tess", "evaluator"],
    "users set-password": ["users", "set-password", "--db", "{db}", "tess", "--password-stdin"],
    "users deactivate": ["users", "deactivate", "--db", "{db}", "tess"],
    "users reactivate": ["users", "reactivate", "--db", "{db}", "tess"],
    "redcap-dictionary": ["redcap-dictionary", "--db", "{db}", "--out", "{out}/dictionary.csv"],
    "report": ["report", "--db", "{db}", "--out", "{out}/report.html"],
    "backup": ["backup", "--db", "{db}", "--out", "{out}/backup"],
    "restore": ["restore", "{file}", "--db", "{db}"],
    "demo": ["demo", "--db", "{db}"],
    "init": ["init", "--db", "{db}", "--codebook", "{file}"],
}
CREATES = {"import", "restore", "demo", "init"}  # their --db may be a new file
READS_FILE = {"import", "restore", "init"}


@pytest.fixture(scope="module")
def place():
    """A folder every user may enter (pytest's own is root's only), so that a file in it can be made unreadable
    to another user when the tests run as root."""
    folder = Path(tempfile.mkdtemp(prefix="cli-paths-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def as_someone_who_cannot_read(path: Path):
    """Root reads any file whatever its mode: then run as `nobody` for the call."""
    path.chmod(0o000)
    try:
        if os.geteuid() == 0:
            os.seteuid(65534)
            try:
                yield
            finally:
                os.seteuid(0)
        else:
            yield
    finally:
        path.chmod(0o644)


def run(command: str, capsys, **paths) -> tuple[int, list[str], str]:
    args = [a.format(**{k: str(v) for k, v in paths.items()}) for a in COMMANDS[command]]
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, [line for line in captured.err.splitlines() if line.strip()], captured.out


def one_line_exit_2(code, err, out, *words):
    assert code == 2, (err, out)
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    for word in words:
        assert word in err[0]


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - CREATES))
def test_a_missing_database_is_refused_and_not_created(command, place, capsys):
    db = place / f"missing-{command.replace(' ', '-')}.duckdb"
    out = place / f"out-{command.replace(' ', '-')}"
    code, err, stdout = run(command, capsys, db=db, out=out, file=db)
    one_line_exit_2(code, err, stdout, "there is no database at", str(db))
    assert not db.exists() and not out.exists()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_folder_given_as_the_database_is_refused(command, place, capsys):
    folder = place / f"folder-{command.replace(' ', '-')}"
    folder.mkdir(exist_ok=True)
    source = place / "codebook.csv"
    source.write_text("factor_code\n")
    code, err, stdout = run(command, capsys, db=folder, out=place / "out", file=source)
    one_line_exit_2(code, err, stdout, "is a folder, not a database file")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unreadable_database_is_refused(command, place, capsys):
    db = place / f"locked-{command.replace(' ', '-')}.duckdb"
    db.write_bytes(b"not really a database")
    source = place / "codebook.csv"
    source.write_text("factor_code\n")
    source.chmod(0o644)
    with as_someone_who_cannot_read(db):
        code, err, stdout = run(command, capsys, db=db, out=place / "out", file=source)
    one_line_exit_2(code, err, stdout, "cannot be read", str(db))


@pytest.mark.parametrize(
    "command, kind",
    [
        (c, k)
        for c in sorted(READS_FILE)
        for k in ("missing", "folder", "unreadable")
        if (c, k) != ("restore", "folder")
    ],
)  # a backup may be a folder
def test_an_input_file_that_cannot_be_used_is_refused_and_nothing_is_created(command, kind, place, capsys):
    db = place / f"new-{command}-{kind}" / "study.duckdb"
    source = place / f"input-{command}-{kind}.csv"
    if kind == "folder":
        source.mkdir(exist_ok=True)
    elif kind == "unreadable":
        source.write_text("project_code\n")
    guard = as_someone_who_cannot_read(source) if kind == "unreadable" else contextlib.nullcontext()
    with guard:
        code, err, stdout = run(command, capsys, db=db, out=place / "out", file=source)
    words = {"missing": "there is no", "folder": "is a folder", "unreadable": "cannot be read"}[kind]
    one_line_exit_2(code, err, stdout, words, str(source))
    assert not db.parent.exists()


def test_a_failing_import_into_a_new_database_creates_no_file_or_folder(place, capsys):
    db = place / "never" / "made" / "study.duckdb"
    bad = place / "projects.csv"
    bad.write_text(
        "project_code,name,setting,host_organisation,relation_to_statutory,start_date,status\n"
        "ART,Arts,community,,external,,active\n"
    )
    code = main(["import", "--db", str(db), str(bad)])
    assert code == 2
    assert "no study yet" in capsys.readouterr().err
    assert not (place / "never").exists()
