"""Failed log-ins, timed in one process: an unknown name, a wrong password, a locked account and a deactivated one.

Each attempt is `accounts.log_in` as the log-in form calls it, on a study with four accounts. The four kinds are
tried in turn, in a shuffled order each round (a fixed seed), so that all of them see the same load on a shared
machine; one untimed round first fills what a running server has already made (the decoy hash, the connection's
prepared state). Between rounds the wrong password's account has its failures reset (untimed), so it never locks.
If the medians differ, the time of a refusal tells a guesser whether a name exists (a timing oracle); the target
is that the slowest median is within 1.2× the fastest.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from innovation_tracker import storage
from innovation_tracker.app import accounts, service
from innovation_tracker.domain.model import AccountRole, Study, Viewer

CASES = ("unknown name", "wrong password", "locked account", "deactivated account")
TARGET_RATIO = 1.2
PASSWORD = "the right password"
ADMIN = Viewer("bench-admin", AccountRole.ADMIN)
_USERS = {"unknown name": "nobody-here", "wrong password": "wrong-one", "locked account": "locked-one"}
USERNAMES = _USERS | {"deactivated account": "gone-one"}


def _prepare(con: storage.Connection) -> None:
    service.init_study(con, Study("Log-in timing", dt.date(2025, 1, 1), dt.date(2026, 12, 31)))
    accounts.create_first_admin(con, ADMIN.username, PASSWORD)
    for case in ("wrong password", "locked account", "deactivated account"):
        accounts.add_account(con, ADMIN, USERNAMES[case], role="evaluator", password=PASSWORD)
    accounts.set_active(con, ADMIN, USERNAMES["deactivated account"], False)
    storage.write(con, lambda cur: storage.lock_account(cur, USERNAMES["locked account"], dt.datetime(2999, 1, 1)))


def _reset_wrong_password(cur: storage.Connection) -> None:
    storage.reset_failed_attempts(cur, USERNAMES["wrong password"])


def _attempt(con: storage.Connection, case: str) -> float:
    started = time.perf_counter()
    try:
        accounts.log_in(con, USERNAMES[case], "not the password", now=dt.datetime.now())
    except accounts.LoginFailed:
        pass
    else:
        raise AssertionError(f"{case}: the log-in succeeded")
    return time.perf_counter() - started


def time_login(target: str | Path | None = None, attempts: int = 30, seed: int = 24) -> dict:
    """The medians (seconds) of `attempts` failed log-ins of each kind, interleaved, on the database `target` (a new,
    empty one: a PostgreSQL URL, or a DuckDB file made in a temporary folder when None)."""
    with tempfile.TemporaryDirectory() as folder:
        con = storage.connect(target if target is not None else Path(folder) / "login.duckdb")
        try:
            _prepare(con)
            order = list(CASES)
            shuffle = random.Random(seed).shuffle
            times: dict[str, list[float]] = {case: [] for case in CASES}
            for round_ in range(attempts + 1):
                shuffle(order)
                for case in order:
                    elapsed = _attempt(con, case)
                    if round_:  # the first round is the warm-up
                        times[case].append(elapsed)
                    if case == "wrong password":
                        storage.write(con, _reset_wrong_password)
        finally:
            con.close()
    medians = {case: statistics.median(values) for case, values in times.items()}
    return {
        "attempts": attempts,
        "medians_s": medians,
        "ratio": max(medians.values()) / min(medians.values()),
        "target_ratio": TARGET_RATIO,
    }


def markdown_rows(result: dict, backend: str) -> list[str]:
    lines = [f"| failed log-in ({backend}) | median of {result['attempts']} (ms) |", "|---|---:|"]
    lines += [f"| {case} | {seconds * 1000:.0f} |" for case, seconds in result["medians_s"].items()]
    ok = "✓" if result["ratio"] <= TARGET_RATIO else "✗"
    lines.append(f"| slowest ÷ fastest | {result['ratio']:.2f}× {ok} (target ≤ {TARGET_RATIO}×) |")
    return lines
