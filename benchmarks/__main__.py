"""`python -m benchmarks --scale 1000`: build (or reuse) the portfolio, time every page, the import, the export and
the app's memory, and write the results as markdown and JSON under benchmarks/results/."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import statistics
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks import login, pages, pgload, portfolio, search, transfer

HERE = Path(__file__).resolve().parent
PG_ENV = "INNOVATION_TRACKER_TEST_PG"
TARGETS = {"warm_ratio": 10.0, "after_write_s": 1.0, "cold_s": 3.0, "import_ratio": 3.0, "memory_mb": 1536.0}


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", type=int, default=100, help="S: 1 is the demo size, 1000 is 11,000 projects")
    parser.add_argument("--repeats", type=int, default=5, help="reruns per page for the medians (at least 5)")
    parser.add_argument("--ratings", type=int, default=1_000_000, help="factor ratings in the import benchmark")
    parser.add_argument("--work", type=Path, default=HERE / "data", help="where databases are built and kept")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where the results are written")
    parser.add_argument("--no-memory", action="store_true", help="skip the browser run that measures memory")
    parser.add_argument(
        "--backend",
        choices=("duckdb", "postgres", "both"),
        default="duckdb",
        help="duckdb: the whole benchmark on a DuckDB file (results s<S>.md); postgres or both: the pages and the"
        " search on each backend named, side by side (results s<S>-both.md or s<S>-postgres.md)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(PG_ENV),
        help=f"a PostgreSQL server's URL, on which a fresh database is created and dropped (default: ${PG_ENV})",
    )
    parser.add_argument(
        "--skip-pages",
        default="",
        help="with --backend postgres or both: page titles to leave out, comma-separated (named in the results)",
    )
    parser.add_argument(
        "--keep-postgres", action="store_true", help="keep the PostgreSQL database (its URL is printed)"
    )
    parser.add_argument(
        "--transfer",
        action="store_true",
        help="only the export (CSV, Parquet, Excel) against DuckDB's COPY, and the monthly re-import at S = 100",
    )
    parser.add_argument(
        "--formats", default="csv,parquet,xlsx", help="with --transfer: the export formats to time, comma-separated"
    )
    parser.add_argument("--no-reimport", action="store_true", help="with --transfer: skip the re-import at S = 100")
    parser.add_argument(
        "--rounds", type=int, default=3, help="with --transfer: alternating export/COPY rounds, re-import rounds"
    )
    parser.add_argument(
        "--search-bounds",
        action="store_true",
        help="only the searches at their limits (20 words, 200 characters) and past them, on each backend of"
        " --backend: results/search-bounds.md",
    )
    parser.add_argument(
        "--login",
        action="store_true",
        help="only failed log-ins (unknown name, wrong password, locked, deactivated), interleaved in one process,"
        " on each backend of --backend: results/login-timing.md",
    )
    parser.add_argument("--attempts", type=int, default=30, help="with --login: attempts of each kind")
    return parser.parse_args(argv)


LOG = functools.partial(print, flush=True)  # a long run shows its progress as it goes


def run_transfer(args: argparse.Namespace, log=LOG) -> dict:
    """Export at S against its floor (DuckDB's COPY of the same queries), and a cumulative re-import at S = 100."""
    args.work.mkdir(parents=True, exist_ok=True)
    db = portfolio.cached(args.work, args.scale)
    exported = transfer.time_export(db, tuple(args.formats.split(",")), rounds=args.rounds)
    for fmt, row in exported["formats"].items():
        floor = f", COPY floor {row['floor_s']:.2f} s, {row['ratio']:.1f}×" if "floor_s" in row else ""
        log(f"export {fmt}: {row['export_s']:.2f} s ({row['megabytes']:.0f} MB){floor}")
    reimport = None if args.no_reimport else transfer.time_reimport(args.work, 100, rounds=args.rounds)
    if reimport:
        log(f"re-import S=100: first {reimport['first_s']:.1f} s, again +1% {reimport['reimport_s']:.1f} s")
    with_counts = storage_counts(db)
    return {
        "scale": args.scale,
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
        "counts": with_counts,
        "export": exported,
        "reimport": reimport,
    }


def storage_counts(db: Path) -> dict[str, int]:
    from innovation_tracker import storage

    con = storage.connect(db)
    try:
        return storage.table_counts(con)
    finally:
        con.close()


def transfer_markdown(result: dict) -> str:
    counts, formats, again = result["counts"], result["export"]["formats"], result["reimport"]
    lines = [
        f"# Export and re-import at S = {result['scale']}",
        "",
        f"{result['when']} · {result['machine']} · {counts['projects']:,} projects, {counts['participants']:,}"
        f" participants, {counts['interviews']:,} interviews, {counts['factor_ratings']:,} ratings",
        "",
        "| measure | result | floor | ratio | target | met |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for fmt, row in formats.items():
        if "floor_s" in row:
            lines.append(
                f"| export, {fmt} ({row['megabytes']:.0f} MB) | {row['export_s']:.2f} s | {row['floor_s']:.2f} s"
                f" (DuckDB COPY of the same queries) | {row['ratio']:.2f}× | ≤ 3× | {_mark(row['ratio'] <= 3)} |"
            )
        else:
            lxml = "lxml" if row.get("lxml") else "no lxml"
            lines.append(
                f"| export, {fmt} ({row['megabytes']:.0f} MB, openpyxl write-only, {lxml};"
                f" {row['cells']:,} cells, {row['us_per_cell']:.0f} µs a cell) | {row['export_s']:.1f} s"
                " | no COPY to Excel | | | – |"
            )
    if again:
        lines += [
            f"| first import of the S = {again['scale']} study ({again['first_rows']:,} rows) |"
            f" {again['first_s']:.1f} s | | | | |",
            f"| re-import of the same export plus 1% new rows ({again['new_rows']:,} new,"
            f" {again['unchanged_rows']:,} unchanged) | {again['reimport_s']:.1f} s | {again['first_s']:.1f} s (first"
            f" import) | {again['ratio']:.2f}× | ≤ 1.5× | {_mark(again['ratio'] <= 1.5)} |",
        ]
    rounds = [f"export: {r['rounds']} rounds" for r in formats.values() if "rounds" in r][:1]
    if again:
        rounds.append(
            f"re-import: {again['rounds']} rounds, each a first import into a new database then the re-import"
        )
    if rounds:
        lines += [
            "",
            "Ratios are medians of per-round ratios within this run, each export timed right before its floor ("
            + "; ".join(rounds)
            + ").",
        ]
    lines.append("")
    return "\n".join(lines)


def run(args: argparse.Namespace, log=print) -> dict:
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    db = portfolio.cached(args.work, args.scale)
    log(f"portfolio S={args.scale} ready in {time.perf_counter() - started:.1f} s: {db}")
    timings = pages.time_pages(db, portfolio.DEMO_TODAY, args.repeats, log=log)
    floor = statistics.median(t.floor_s for t in timings)
    log(f"empty page rerun (the floor, median over the pages): {floor * 1000:.1f} ms")
    imported = transfer.time_import(args.work, args.ratings)
    log(f"import of {args.ratings:,} ratings: {imported['import_s']:.1f} s, plain read_csv {imported['plain_s']:.2f} s")
    exported = transfer.time_export(db)
    log(f"export: {exported['export_s']:.1f} s")
    searched = search.time_search(db)
    log("search: " + ", ".join(f"{r['viewer']} {r['query']} {r['warm_s'] * 1000:.0f} ms" for r in searched))
    memory = None
    if not args.no_memory:
        from benchmarks import memory as memory_module

        memory = memory_module.peak_memory(db, portfolio.DEMO_TODAY.isoformat(), args.work, log=log)
        log(f"app peak memory: {memory['peak_mb']:.0f} MB")
    return results(args, db, floor, timings, imported, exported, memory, searched)


def results(args, db, floor, timings, imported, exported, memory, searched=()) -> dict:
    from innovation_tracker import storage

    con = storage.connect(db)
    counts = storage.table_counts(con)
    con.close()
    pages_out = [
        {**asdict(t), "warm_ratio": t.warm_s / t.floor_s, "after_write_ratio": t.after_write_s / t.floor_s}
        for t in timings
    ]
    return {
        "scale": args.scale,
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
        "counts": counts,
        "repeats": args.repeats,
        "floor_s": floor,
        "pages": pages_out,
        "import": {
            **imported,
            "ratio": imported["import_s"] / imported["plain_s"],
            "insert_ratio": imported["insert_s"] / imported["plain_s"],
        },
        "export": exported,
        "memory": memory,
        "search": list(searched),
        "targets": TARGETS,
        "met": met(pages_out, imported["import_s"] / imported["plain_s"], memory),
    }


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def met(pages_out: list[dict], import_ratio: float, memory: dict | None) -> dict[str, bool | None]:
    return {
        "warm_ratio": all(p["warm_ratio"] <= TARGETS["warm_ratio"] for p in pages_out),
        "after_write_s": all(p["after_write_s"] < TARGETS["after_write_s"] for p in pages_out),
        "cold_s": all(p["cold_s"] < TARGETS["cold_s"] for p in pages_out),
        "import_ratio": import_ratio <= TARGETS["import_ratio"],
        "memory_mb": None if memory is None else memory["peak_mb"] < TARGETS["memory_mb"],
    }


def _mark(ok: bool | None) -> str:
    return "–" if ok is None else ("✓" if ok else "✗")


def markdown(result: dict) -> str:
    floor = result["floor_s"]
    counts = result["counts"]
    lines = [
        f"# Benchmark at S = {result['scale']}",
        "",
        f"{result['when']} · {result['machine']} · {counts['projects']:,} projects, {counts['participants']:,}"
        f" participants, {counts['interviews']:,} interviews, {counts['factor_ratings']:,} ratings ·"
        f" medians of {result['repeats']} reruns · empty-page rerun (floor) {floor * 1000:.1f} ms",
        "",
        "| page | viewer | cold (s) | warm rerun (s) | warm ÷ floor | after a write (s) | targets |",
        "|---|---|---:|---:|---:|---:|:---:|",
    ]
    for p in result["pages"]:
        ok = p["cold_s"] < 3 and p["warm_ratio"] <= 10 and p["after_write_s"] < 1
        lines.append(
            f"| {p['page']} | {p['viewer']} | {p['cold_s']:.2f} | {p['warm_s']:.3f} | {p['warm_ratio']:.1f}× |"
            f" {p['after_write_s']:.2f} | {_mark(ok)} |"
        )
    imported, exported, memory = result["import"], result["export"], result["memory"]
    met = result["met"]
    lines += [
        "",
        "| measure | result | target | met |",
        "|---|---:|---:|:---:|",
        f"| validated import of {imported['rows']:,} ratings (CSV) | {imported['import_s']:.1f} s | | |",
        f"| DuckDB `read_csv` of the same file | {imported['plain_s']:.2f} s | | |",
        f"| import ÷ read_csv | {imported['ratio']:.1f}× | ≤ 3× | {_mark(met['import_ratio'])} |",
        f"| DuckDB's own INSERT of the file into `factor_rating` (keys, checks; no validation) |"
        f" {imported['insert_s']:.1f} s | | |",
        f"| that INSERT ÷ read_csv: the floor for any import into this schema | {imported['insert_ratio']:.1f}× | | |",
        f"| export of the whole study (CSV, {exported['megabytes']:.0f} MB) | {exported['export_s']:.1f} s | | |",
        "| app peak memory (VmHWM) | "
        + ("not measured" if memory is None else f"{memory['peak_mb']:.0f} MB")
        + f" | < 1.5 GB | {_mark(met['memory_mb'])} |",
        f"| every warm rerun ≤ 10× floor | | | {_mark(met['warm_ratio'])} |",
        f"| every rerun after a write < 1 s | | | {_mark(met['after_write_s'])} |",
        f"| every cold render < 3 s | | | {_mark(met['cold_s'])} |",
        *search.markdown_rows(result.get("search", [])),
        "",
    ]
    return "\n".join(lines)


def write(result: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"s{result['scale']}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    return stem.with_suffix(".md"), stem.with_suffix(".json")


NAMES = {"duckdb": "DuckDB", "postgres": "PostgreSQL"}
PAGE_TARGETS = "warm rerun ≤ 10× the floor, rerun after a write < 1 s, cold < 3 s"


def backends_of(args: argparse.Namespace) -> list[str]:
    return ["duckdb", "postgres"] if args.backend == "both" else [args.backend]


def skipped(args: argparse.Namespace) -> list[str]:
    return [title.strip() for title in args.skip_pages.split(",") if title.strip()]


def run_backends(args: argparse.Namespace, log=print) -> dict:
    """The pages and the search on each backend in one run: the S portfolio (a DuckDB file) and, for PostgreSQL,
    the same portfolio bulk-copied into a fresh database on the `--postgres` server (dropped afterwards)."""
    names = backends_of(args)
    if "postgres" in names and not args.postgres:
        raise SystemExit(f"--backend {args.backend} needs a PostgreSQL server: --postgres URL or ${PG_ENV}")
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    db = portfolio.cached(args.work, args.scale)
    log(f"portfolio S={args.scale} ready in {time.perf_counter() - started:.1f} s: {db}")
    targets: dict[str, str | Path] = {}
    loaded = None
    url = None
    if "duckdb" in names:
        targets["duckdb"] = db
    try:
        if "postgres" in names:
            url = pgload.create_database(args.postgres)
            loaded = pgload.load(db, url, log=log)
            targets["postgres"] = url
        timings = pages.time_pages(targets, portfolio.DEMO_TODAY, args.repeats, log=log, skip=skipped(args))
        searched = {}
        for backend, target in targets.items():
            searched[backend] = search.time_search(target)
            times = (f"{r['viewer']} {r['query']} {r['warm_s'] * 1000:.0f} ms" for r in searched[backend])
            log(f"search ({backend}): " + ", ".join(times))
    finally:
        if url and not args.keep_postgres:
            pgload.drop_database(url)
        elif url:
            log(f"PostgreSQL database kept: {url}")
    return backend_results(args, db, names, timings, searched, loaded)


def backend_results(args, db, names, timings, searched, loaded) -> dict:
    counts = storage_counts(db)
    pages_out = []
    for t in timings:
        row = asdict(t)
        row.update(
            cold_ratio=t.cold_s / t.floor_s,
            warm_ratio=t.warm_s / t.floor_s,
            after_write_ratio=t.after_write_s / t.floor_s,
            met=t.cold_s < TARGETS["cold_s"]
            and t.warm_s / t.floor_s <= TARGETS["warm_ratio"]
            and t.after_write_s < TARGETS["after_write_s"],
        )
        pages_out.append(row)
    met_by = {}
    for backend in names:
        mine = [p for p in pages_out if p["backend"] == backend]
        met_by[backend] = {
            "warm_ratio": all(p["warm_ratio"] <= TARGETS["warm_ratio"] for p in mine),
            "after_write_s": all(p["after_write_s"] < TARGETS["after_write_s"] for p in mine),
            "cold_s": all(p["cold_s"] < TARGETS["cold_s"] for p in mine),
            "search_s": all(r["warm_s"] < search.TARGET_S for r in searched[backend]),
        }
    return {
        "scale": args.scale,
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
        "counts": counts,
        "repeats": args.repeats,
        "backends": names,
        "skipped_pages": skipped(args),
        "postgres_load": loaded,
        "floor_s": {b: statistics.median(p["floor_s"] for p in pages_out if p["backend"] == b) for b in names},
        "pages": pages_out,
        "search": searched,
        "targets": {k: TARGETS[k] for k in ("warm_ratio", "after_write_s", "cold_s")} | {"search_s": search.TARGET_S},
        "met": met_by,
    }


def _cell(seconds: float, ratio: float) -> str:
    return f"{seconds:.3f} s · {ratio:.0f}×" if ratio >= 10 else f"{seconds:.3f} s · {ratio:.1f}×"


def _first(page: dict) -> str:
    first = page.get("first_server_cold_s")
    return "" if first is None else f" (first server {first:.2f} s)"


def backends_markdown(result: dict) -> str:
    names, counts = result["backends"], result["counts"]
    floors = " · ".join(f"{NAMES[b]} {result['floor_s'][b] * 1000:.1f} ms" for b in names)
    lines = [
        f"# Benchmark at S = {result['scale']}: " + " and ".join(NAMES[b] for b in names),
        "",
        f"{result['when']} · {result['machine']} · {counts['projects']:,} projects, {counts['participants']:,}"
        f" participants, {counts['interviews']:,} interviews, {counts['factor_ratings']:,} ratings ·"
        f" medians of {result['repeats']} reruns (warm: at least 5) · empty-page rerun (floor): {floors}",
        "",
        "Each cell: seconds · ratio to the same backend's floor (the empty page's rerun, timed alternately with"
        f" that page's reruns in this run). Targets: {PAGE_TARGETS}. Each page is timed on one backend right after"
        " the other.",
        "",
        "Cold is a server's first render of the page with nothing in its memory. On PostgreSQL that server finds the"
        " portfolio-wide frames another server read on the shelf (storage/shelf.py); in brackets, the first server's"
        " render, with the shelf empty. DuckDB has one server and no shelf.",
        "",
    ]
    loaded = result.get("postgres_load")
    if loaded:
        lines += [
            f"PostgreSQL database: migrated in {loaded['migrate_s']:.1f} s, {loaded['rows']:,} rows bulk-copied"
            f" (COPY FROM STDIN, parents first) and analysed in {loaded['load_s']:.1f} s.",
            "",
        ]
    if result.get("skipped_pages"):
        lines += ["Not timed in this run (`--skip-pages`): " + ", ".join(result["skipped_pages"]) + ".", ""]
    head = "| page | viewer |"
    rule = "|---|---|"
    for b in names:
        head += f" {NAMES[b]} cold | warm rerun | after a write | met |"
        rule += "---:|---:|---:|:---:|"
    lines += [head, rule]
    by_key: dict[tuple[str, str], dict[str, dict]] = {}
    for p in result["pages"]:
        by_key.setdefault((p["page"], p["viewer"]), {})[p["backend"]] = p
    for (page, viewer), per in by_key.items():
        row = f"| {page} | {viewer} |"
        for b in names:
            p = per[b]
            row += (
                f" {_cell(p['cold_s'], p['cold_ratio'])}{_first(p)} | {_cell(p['warm_s'], p['warm_ratio'])} |"
                f" {_cell(p['after_write_s'], p['after_write_ratio'])} | {_mark(p['met'])} |"
            )
        lines.append(row)
    lines += ["", "| target | " + " | ".join(NAMES[b] for b in names) + " |", "|---|" + ":---:|" * len(names)]
    for key, label in (
        ("warm_ratio", "every warm rerun ≤ 10× floor"),
        ("after_write_s", "every rerun after a write < 1 s"),
        ("cold_s", "every cold render < 3 s"),
        ("search_s", "every search's first page < 0.3 s"),
    ):
        lines.append(f"| {label} | " + " | ".join(_mark(result["met"][b][key]) for b in names) + " |")
    lines += [
        "",
        "| search, first page of 20 | viewer | matches | " + " | ".join(f"{NAMES[b]} warm" for b in names) + " |",
        "|---|---|---:|" + "---:|" * len(names),
    ]
    first = result["search"][names[0]]
    for n, row in enumerate(first):
        cells = []
        for b in names:
            other = result["search"][b][n]
            cells.append(f"{other['warm_s']:.3f} s {_mark(other['warm_s'] < search.TARGET_S)}")
        lines.append(f"| {row['query']} | {row['viewer']} | {row['matches']:,} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def write_backends(result: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    suffix = "both" if len(result["backends"]) > 1 else result["backends"][0]
    stem = out / f"s{result['scale']}-{suffix}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(backends_markdown(result))
    return stem.with_suffix(".md"), stem.with_suffix(".json")


def _machine() -> str:
    return f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}"


def run_search_bounds(args: argparse.Namespace, log=LOG) -> dict:
    """The searches at their limits on each backend named, the PostgreSQL one a copy of the S portfolio."""
    names = backends_of(args)
    if "postgres" in names and not args.postgres:
        raise SystemExit(f"--backend {args.backend} needs a PostgreSQL server: --postgres URL or ${PG_ENV}")
    args.work.mkdir(parents=True, exist_ok=True)
    db = portfolio.cached(args.work, args.scale)
    searched, url = {}, None
    try:
        for backend in names:
            target: str | Path = db
            if backend == "postgres":
                url = pgload.create_database(args.postgres)
                pgload.load(db, url, log=log)
                storage_counts(url)  # the first connection makes the search's trigram indexes
                target = url
            searched[backend] = search.time_bounds(target, args.repeats)
            worst = max(searched[backend], key=lambda r: max(r["first_s"], r["warm_s"]))
            log(f"search at its limits ({backend}): slowest {max(worst['first_s'], worst['warm_s']):.3f} s,"
                f" {worst['query']} as {worst['viewer']}")  # fmt: skip
    finally:
        if url and not args.keep_postgres:
            pgload.drop_database(url)
    return {
        "scale": args.scale,
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": _machine(),
        "counts": storage_counts(db),
        "backends": names,
        "backend_arg": args.backend,
        "repeats": args.repeats,
        "search": searched,
    }


def run_login(args: argparse.Namespace, log=LOG) -> dict:
    """Failed log-ins of the four kinds on each backend named (a new, small database each)."""
    names = backends_of(args)
    if "postgres" in names and not args.postgres:
        raise SystemExit(f"--backend {args.backend} needs a PostgreSQL server: --postgres URL or ${PG_ENV}")
    timed = {}
    for backend in names:
        url = pgload.create_database(args.postgres) if backend == "postgres" else None
        try:
            timed[backend] = login.time_login(url, args.attempts)
        finally:
            if url:
                pgload.drop_database(url)
        medians = ", ".join(f"{case} {s * 1000:.0f} ms" for case, s in timed[backend]["medians_s"].items())
        log(f"failed log-ins ({backend}): {medians}; {timed[backend]['ratio']:.2f}×")
    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": _machine(),
        "backend_arg": args.backend,
        "login": timed,
    }


def login_markdown(result: dict) -> str:
    lines = [
        "# Failed log-ins: the same work whatever the reason",
        "",
        f"{result['when']} · {result['machine']} · `python -m benchmarks --login --backend {result['backend_arg']}`",
        "",
        "`accounts.log_in` as the log-in form calls it, in one process, on a new study with one account of each kind:"
        " the four kinds in turn, in a shuffled order each round (so all see the same load), after one untimed"
        " round; the wrong password's account has its failures reset between rounds (untimed), so it never locks."
        f" Target: the slowest median within {login.TARGET_RATIO}× the fastest, so that the time of a refusal"
        " says nothing of the name tried.",
    ]
    for backend, timed in result["login"].items():
        lines += ["", *login.markdown_rows(timed, NAMES[backend])]
    lines.append("")
    return "\n".join(lines)


def _write(result: dict, out: Path, stem: str, text: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{stem}.md").write_text(text)
    return out / f"{stem}.md"


def main(argv=None) -> None:
    args = parse(argv)
    if args.search_bounds:
        bounds = run_search_bounds(args)
        print(_write(bounds, args.out, "search-bounds", search.bounds_markdown(bounds)).read_text())
        return
    if args.login:
        timed = run_login(args)
        print(_write(timed, args.out, "login-timing", login_markdown(timed)).read_text())
        return
    if args.transfer:
        result = run_transfer(args)
        args.out.mkdir(parents=True, exist_ok=True)
        formats = args.formats.split(",")
        stem = args.out / f"transfer-s{args.scale}"
        if formats == ["xlsx"]:  # Excel alone (it takes minutes): the other formats' results are kept
            stem = stem.with_name(f"{stem.name}-xlsx")
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        stem.with_suffix(".md").write_text(transfer_markdown(result))
        print(stem.with_suffix(".md").read_text())
        return
    if args.backend != "duckdb":
        result = run_backends(args, log=LOG)
        md, _ = write_backends(result, args.out)
        print(md.read_text())
        return
    result = run(args)
    md, _ = write(result, args.out)
    print(md.read_text())
    worst = max(result["pages"], key=lambda p: p["warm_ratio"])
    print(f"slowest warm rerun: {worst['page']} at {worst['warm_ratio']:.1f}× the floor;"
          f" median page {statistics.median(p['warm_s'] for p in result['pages']):.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
