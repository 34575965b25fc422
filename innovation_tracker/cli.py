"""`python -m innovation_tracker …`: a thin layer over `service`, the same API the pages use."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
from pathlib import Path

from innovation_tracker import storage
from innovation_tracker.app import accounts, service
from innovation_tracker.domain.codebook import BUILT_IN_CODEBOOKS
from innovation_tracker.domain.errors import TrackerError, ValidationError
from innovation_tracker.domain.model import SYSTEM_VIEWER, AccountRole, Study, Viewer


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date in the form YYYY-MM-DD") from exc


def _new_database(path: Path) -> storage.Connection:
    con = storage.connect(path)
    if not storage.is_empty(con):
        con.close()
        raise TrackerError(f"{path} already holds a study; choose a new path")
    return con


def cmd_demo(args) -> str:
    con = _new_database(args.db)
    counts = service.load_demo(con, today=args.today)
    return f"Demo study written to {args.db} (as of {args.today}): " + _counts(counts)


def cmd_init(args) -> str:
    con = _new_database(args.db)
    study = Study(args.name, args.start, args.end, args.funder, False)
    counts = service.init_study(con, study, codebook_path=args.codebook, indicators_path=args.indicators)
    return f"Empty study '{args.name}' created in {args.db}: " + _counts(counts)


def cmd_export(args) -> str:
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"{args.out} is a file; --out names a folder to write the files into")
    con = storage.connect(args.db)
    paths = service.export_study(con, SYSTEM_VIEWER, args.out, args.format)
    return f"Exported {len(paths)} file(s) to {args.out}: " + ", ".join(p.name for p in paths)


def cmd_import(args) -> str:
    """Plan first (against an in-memory study when the database does not exist yet, so that a refused import
    creates no file), print the plan, then write exactly it."""
    uploads = service.read_paths(args.files)
    new = not args.db.exists()
    con = storage.connect(":memory:" if new else args.db)
    plan = service.plan_import(con, uploads, today=args.today, update=args.update)
    for notice in plan.notices:
        print(f"notice: {notice}")
    print("\n".join(["Import plan:", *(f"  {line}" for line in plan.lines())]))
    if plan.refused:
        raise ValidationError(plan.refused)
    if args.dry_run:
        return "Dry run: nothing was written."
    if new:
        con.close()
        con = storage.connect(args.db)
    actor = OS_ACTOR if args.actor is None else f"{args.actor} (given by {OS_ACTOR})"
    counts = service.apply_import(con, plan, actor=actor)
    return f"Imported into {args.db}: " + _counts(counts)


class UsageError(TrackerError):
    """A path that cannot be used (missing, a folder, unreadable): one line, exit code 2."""

    title = "error"


# Commands whose --db may name a file that does not exist yet (they create it); every other needs it to exist.
CREATES_DB = {"demo", "init", "restore", "import"}


class DatabaseURL(str):
    """A `--db postgresql://…` URL: a database on a server, which the server checks when it is opened."""

    def exists(self) -> bool:
        return True

    def is_dir(self) -> bool:
        return False


def _database(text: str) -> Path | DatabaseURL:
    """`--db`: a DuckDB file path, or a PostgreSQL URL."""
    return DatabaseURL(text) if storage.is_postgres(text) else Path(text)


def _check_paths(args) -> None:
    """Missing files, folders given for files and unreadable files, found before any command opens them."""
    db = getattr(args, "db", None)
    if isinstance(db, DatabaseURL):
        db = None
    if db is not None:
        if db.is_dir():
            raise UsageError(f"{db} is a folder, not a database file")
        if not db.exists() and args.command not in CREATES_DB:
            raise UsageError(f"there is no database at {db} (create one with `init` or `demo`)")
        if db.exists():
            _readable(db)
    codebook = getattr(args, "codebook", None)
    if codebook is not None and str(codebook) in BUILT_IN_CODEBOOKS and not codebook.exists():
        codebook = None  # a built-in codebook's name, not a file
    inputs = [*getattr(args, "files", []), codebook, getattr(args, "indicators", None)]
    for path in filter(None, inputs):
        if not path.exists():
            raise UsageError(f"there is no file {path}")
        if path.is_dir():
            raise UsageError(f"{path} is a folder, not a file")
        _readable(path)
    source = getattr(args, "source", None)
    if source is not None and not source.exists():
        raise UsageError(f"there is no backup at {source}")
    if source is not None and source.is_file():
        _readable(source)


def _readable(path: Path) -> None:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise UsageError(f"{path} cannot be read: {exc.strerror}") from None


def _os_actor() -> str:
    """Who runs the command, as the operating system knows them: the audit's actor for what the command line does
    (it has no log-in of its own; whoever can run it on the database file has the file anyway)."""
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (some containers)
        return f"os:uid-{os.getuid()}"


OS_ACTOR = _os_actor()
CLI_ADMIN = Viewer(OS_ACTOR, AccountRole.ADMIN)


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"Password for {args.username}: ")
    if getpass.getpass("Same password again: ") != password:
        raise TrackerError("The two passwords differ; nothing was changed.")
    return password


def cmd_users_add(args) -> str:
    con = storage.connect(args.db)
    account = accounts.add_account(
        con,
        CLI_ADMIN,
        args.username,
        role=args.role,
        projects=args.project or (),
        email=args.email,
        display_name=args.name,
        password=_password(args),
    )
    return f"Added {account.role.value} account {account.username}" + _projects_of(account)


def _projects_of(account: storage.Account) -> str:
    return f" for {', '.join(sorted(account.projects))}" if account.projects else ""


def cmd_users_list(args) -> str:
    con = storage.connect(args.db)
    frame = accounts.list_accounts(con, CLI_ADMIN, dt.datetime.now())
    if frame.empty:
        return "No accounts yet."
    lines = []
    for row in frame.itertuples():
        state = "active" if row.active else "deactivated"
        if row.locked_until is not None and str(row.locked_until) != "NaT":
            state += f", locked until {row.locked_until:%Y-%m-%d %H:%M}"
        email = row.email if isinstance(row.email, str) else "-"
        lines.append(f"{row.username}\t{row.role}\t{row.projects or '-'}\t{email}\t{state}")
    return "\n".join(["username\trole\tprojects\te-mail\tstate", *lines])


def cmd_users_set_role(args) -> str:
    con = storage.connect(args.db)
    current = storage.get_account(con, args.username)
    if current is None:
        raise TrackerError(f"There is no account '{args.username}'.")
    account = accounts.change_account(
        con,
        CLI_ADMIN,
        args.username,
        role=args.role,
        projects=args.project or (),
        email=current.email,
        display_name=current.display_name,
    )
    return f"{account.username} is now a {account.role.value} account" + _projects_of(account)


def cmd_users_set_password(args) -> str:
    con = storage.connect(args.db)
    accounts.set_password(con, CLI_ADMIN, args.username, _password(args))
    return f"New password set for {args.username} (any lockout is lifted)."


def cmd_users_set_active(args) -> str:
    con = storage.connect(args.db)
    accounts.set_active(con, CLI_ADMIN, args.username, args.active)
    return f"{args.username} is {'active again' if args.active else 'deactivated: it can no longer log in'}."


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table.replace('_', ' ')}" for table, n in counts.items()) or "nothing"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m innovation_tracker",
        description="Track health-service innovation projects over a year of follow-ups.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, handler, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    demo = command("demo", cmd_demo, "Create a new database holding the synthetic demo study.")
    demo.add_argument("--db", type=_database, required=True, help="a new DuckDB file, or a postgresql:// URL")
    demo.add_argument(
        "--today",
        type=_date,
        default=dt.date.today(),
        help="the date the demo is built around (YYYY-MM-DD; default today); same date, same data",
    )

    init = command(
        "init",
        cmd_init,
        "Create a new database holding an empty study with the default schedule, "
        "codebook (Brooks, Pilgrim & Rogers 2011) and sustainability indicators.",
    )
    init.add_argument("--db", type=_database, required=True, help="a new DuckDB file, or a postgresql:// URL")
    init.add_argument("--name", default="New evaluation", help="the study's name")
    init.add_argument("--start", type=_date, default=dt.date.today(), help="study start date (YYYY-MM-DD)")
    init.add_argument("--end", type=_date, help="study end date (YYYY-MM-DD; default start + 15 months)")
    init.add_argument("--funder", help="the funding body")
    init.add_argument(
        "--codebook",
        type=Path,
        metavar="brooks2011|cfir2|PATH",
        help="the codebook: brooks2011 (the default: Brooks, Pilgrim & Rogers 2011), cfir2 (CFIR 2.0, Damschroder et"
        " al. 2022, rated -2..+2, 0 neutral and X mixed) or a codebook CSV",
    )
    init.add_argument("--indicators", type=Path, help="an indicator-set CSV to use instead of the default")

    export = command(
        "export",
        cmd_export,
        "Write the study as tidy files (DESIGN §5 contract), one per table, plus wide.csv for analysts.",
    )
    export.add_argument("--db", type=_database, required=True, help="a DuckDB file or a postgresql:// URL")
    export.add_argument("--out", type=Path, required=True, help="folder to write into (created if needed)")
    export.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv", help="file format")

    imp = command(
        "import",
        cmd_import,
        "Sync tidy files (CSV, Parquet, or an Excel workbook with a sheet per table, or a REDCap flat export of the "
        "project from redcap-dictionary) into the study: rows already stored are unchanged, new rows are added, "
        "changed rows are refused unless --update. All checked first, all written or nothing; exit 2 on problems.",
    )
    imp.add_argument(
        "--db",
        type=_database,
        required=True,
        help="a DuckDB file (created when the import succeeds and it does not exist) or a postgresql:// URL",
    )
    imp.add_argument("files", type=Path, nargs="+", metavar="FILE", help="tidy files, or REDCap exports")
    imp.add_argument(
        "--update",
        action="store_true",
        help="apply rows whose key is stored with other values as audited edits (without it they are refused)",
    )
    imp.add_argument("--dry-run", action="store_true", help="print the plan (new/unchanged/changed) and write nothing")
    imp.add_argument("--today", type=_date, default=dt.date.today(), help="date for the 'not in the future' rule")
    imp.add_argument(
        "--actor",
        help="who the import is for, recorded in the audit log together with the operating-system user who ran it",
    )
    _add_users_commands(command("users", None, "Manage who can log in: accounts, roles, projects, passwords."))
    settings = command("settings", cmd_settings, "Show the study's settings, or change them.")
    settings.add_argument("--db", type=_database, required=True, help="a DuckDB file or a postgresql:// URL")
    settings.add_argument(
        "--min-role-group",
        type=int,
        metavar="K",
        help="de-identification: pool roles held by fewer than K participants of a project as Stakeholder"
        " (default 3; 1 turns pooling off)",
    )
    settings.add_argument(
        "--finished-round-share",
        type=float,
        metavar="SHARE",
        help="a round counts as finished once this share (0.5 to 1) of its interviews is done, or every window has"
        " closed (default 0.8)",
    )
    _add_data_commands(command)
    return parser


def _add_users_commands(users: argparse.ArgumentParser) -> None:
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION", help="what to do")

    def action(name, handler, help_text, *, username=True):
        sub = actions.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        sub.add_argument("--db", type=_database, required=True, help="a DuckDB file or a postgresql:// URL")
        if username:
            sub.add_argument("username", metavar="USERNAME", help="the account's username")
        return sub

    roles = [r.value for r in AccountRole]
    add = action("add", cmd_users_add, "Add an account (asks for its password unless --password-stdin).")
    add.add_argument("--role", required=True, choices=roles, help="what the account may see and change")
    add.add_argument("--project", action="append", metavar="CODE", help="a team account's project (repeatable)")
    add.add_argument("--email", help="e-mail address, used to match single sign-on")
    add.add_argument("--name", help="display name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    action("list", cmd_users_list, "List the accounts with their role, projects and state.", username=False)
    role = action("set-role", cmd_users_set_role, "Change an account's role (and a team account's projects).")
    role.add_argument("role", choices=roles, metavar="ROLE", help=f"the new role: {', '.join(roles)}")
    role.add_argument("--project", action="append", metavar="CODE", help="a team account's project (repeatable)")
    password = action("set-password", cmd_users_set_password, "Give an account a new password; lifts a lockout.")
    password.add_argument("--password-stdin", action="store_true", help=add._actions[-1].help)
    off = action("deactivate", cmd_users_set_active, "Stop an account from logging in (its history stays).")
    off.set_defaults(active=False)
    on = action("reactivate", cmd_users_set_active, "Let a deactivated account log in again.")
    on.set_defaults(active=True)


def cmd_settings(args) -> str:
    con = storage.connect(args.db)
    # The audit names the operating-system user who ran the command: the CLI has no log-in of its own.
    actor = Viewer(f"cli:{getpass.getuser()}", AccountRole.ADMIN)
    if args.min_role_group is not None:
        service.set_min_role_group(con, actor, args.min_role_group)
    if args.finished_round_share is not None:
        service.set_finished_round_share(con, actor, args.finished_round_share)
    k, share = storage.min_role_group(con), storage.finished_round_share(con)
    return (
        f"min-role-group (k) = {k}: funders and teams see a role only where at least {k} participants of a project"
        " hold it; smaller groups appear as Stakeholder.\n"
        f"finished-round-share = {share:g}: a round counts as finished once {share:.0%} of its interviews are done"
        " or every window has closed; comparisons default to the latest finished round."
    )


def cmd_redcap_dictionary(args) -> str:
    con = storage.connect(args.db)
    paths = service.write_redcap_dictionary(con, SYSTEM_VIEWER, args.out)
    return "REDCap project files written: " + ", ".join(str(p) for p in paths)


def cmd_report(args) -> str:
    # Imported here: plotly, kaleido and fpdf2 would slow down every other command.
    from innovation_tracker.views import reports

    fmt = args.format or ("html" if args.out.suffix.lower() in (".html", ".htm") else "pdf")
    con = storage.connect(args.db)
    _, data = reports.build(con, SYSTEM_VIEWER, today=args.today, project_code=args.project, wave=args.wave, fmt=fmt)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    return f"Report written to {args.out} ({len(data) // 1024} KB)"


def cmd_backup(args) -> str:
    from innovation_tracker.app import backup

    con = storage.connect(args.db)
    counts = backup.backup(con, SYSTEM_VIEWER, args.out)
    return f"Backup of {args.db} written to {args.out}: " + _counts(counts)


def cmd_restore(args) -> str:
    from innovation_tracker.app import backup

    counts = backup.restore(args.source, args.db)
    return f"Restored {args.source} into {args.db}: " + _counts(counts)


def _add_data_commands(command) -> None:
    redcap = command(
        "redcap-dictionary",
        cmd_redcap_dictionary,
        "Write a REDCap data dictionary for collecting this study's interviews and ratings in REDCap, with the "
        "instrument-event mapping, events and repeating-instrument files next to it.",
    )
    redcap.add_argument("--db", type=_database, required=True, help="a DuckDB file or a postgresql:// URL")
    redcap.add_argument("--out", type=Path, required=True, help="the dictionary CSV to write (e.g. dictionary.csv)")

    report = command(
        "report", cmd_report, "Write a report (PDF or self-contained HTML) for a project or the portfolio."
    )
    report.add_argument("--db", type=_database, required=True, help="a DuckDB file or a postgresql:// URL")
    report.add_argument("--out", type=Path, required=True, help="the file to write (.pdf or .html)")
    report.add_argument("--project", metavar="CODE", help="a project's code; without it, the whole portfolio")
    report.add_argument("--wave", help="the wave to report at (default: the latest wave with data)")
    report.add_argument("--format", choices=("pdf", "html"), help="file format (default: from --out, else pdf)")
    report.add_argument("--today", type=_date, default=dt.date.today(), help="the date the report is as of")

    backup = command("backup", cmd_backup, "Copy the whole database (study, accounts, audit log) into a folder.")
    backup.add_argument("--db", type=_database, required=True, help="a DuckDB file or a postgresql:// URL")
    backup.add_argument("--out", type=Path, required=True, help="a new or empty folder to write the backup into")

    restore = command(
        "restore",
        cmd_restore,
        "Rebuild a database from a backup folder (or its zip): a new file or an empty PostgreSQL database.",
    )
    restore.add_argument("source", type=Path, metavar="DIR", help="the backup folder, or a zip of it")
    restore.add_argument(
        "--db",
        type=_database,
        required=True,
        help="a new DuckDB file (must not exist), or a postgresql:// URL of a new, empty database",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "end", "unset") is None:
        args.end = args.start + dt.timedelta(days=460)
    try:
        _check_paths(args)
        print(args.handler(args))
    except ValidationError as error:
        print(f"{error.title}. {len(error.problems)} problem(s), nothing was written:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        if error.message.endswith("are listed"):
            print(f"  {error.message[error.message.index(' … ') + 3 :]}", file=sys.stderr)
        return 2
    except UsageError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    except OSError as error:  # a path that turned out unusable only when written (a full disk, a read-only folder)
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 2
    except TrackerError as error:
        print(f"{error.title}: {error.message}", file=sys.stderr)
        return 1
    return 0
