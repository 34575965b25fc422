"""`python -m innovation_tracker …`: a thin layer over `service`, the same API the pages use."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from . import service, storage
from .domain import SYSTEM_VIEWER, Study
from .errors import TrackerError, ValidationError


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
    con = storage.connect(args.db)
    paths = service.export_study(con, SYSTEM_VIEWER, args.out, args.format)
    return f"Exported {len(paths)} file(s) to {args.out}: " + ", ".join(p.name for p in paths)


def cmd_import(args) -> str:
    con = storage.connect(args.db)
    counts = service.import_files(con, args.files, today=args.today, actor=args.actor)
    return f"Imported into {args.db}: " + _counts(counts)


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
    demo.add_argument("--db", type=Path, required=True, help="path of the new DuckDB file")
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
    init.add_argument("--db", type=Path, required=True, help="path of the new DuckDB file")
    init.add_argument("--name", default="New evaluation", help="the study's name")
    init.add_argument("--start", type=_date, default=dt.date.today(), help="study start date (YYYY-MM-DD)")
    init.add_argument("--end", type=_date, help="study end date (YYYY-MM-DD; default start + 15 months)")
    init.add_argument("--funder", help="the funding body")
    init.add_argument("--codebook", type=Path, help="a codebook CSV to use instead of the default")
    init.add_argument("--indicators", type=Path, help="an indicator-set CSV to use instead of the default")

    export = command("export", cmd_export, "Write the study as tidy files (DESIGN §5 contract), one per table.")
    export.add_argument("--db", type=Path, required=True, help="the DuckDB file")
    export.add_argument("--out", type=Path, required=True, help="folder to write into (created if needed)")
    export.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv", help="file format")

    imp = command(
        "import",
        cmd_import,
        "Add tidy files (CSV, Parquet, or an Excel workbook with a sheet per "
        "table) to the study: all checked first, all written or nothing.",
    )
    imp.add_argument("--db", type=Path, required=True, help="the DuckDB file (created if it does not exist)")
    imp.add_argument("files", type=Path, nargs="+", metavar="FILE", help="files named after their table")
    imp.add_argument("--today", type=_date, default=dt.date.today(), help="date for the 'not in the future' rule")
    imp.add_argument("--actor", default="cli", help="who to record in the audit log")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "end", "unset") is None:
        args.end = args.start + dt.timedelta(days=460)
    try:
        print(args.handler(args))
    except ValidationError as error:
        print(f"{error.title}. {len(error.problems)} problem(s), nothing was written:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except TrackerError as error:
        print(f"{error.title}: {error.message}", file=sys.stderr)
        return 1
    return 0
