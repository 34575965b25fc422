"""Log-in sessions: the SQL behind staying logged in across reloads and tabs (see `innovation_tracker.app.sessions`).

Rows are keyed by the SHA-256 of the session token; the token itself is never stored. These reads are not scoped
(they decide who the viewer is), so only the sessions service calls them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from innovation_tracker.storage.db import Connection


def insert_session(
    con: Connection,
    token_hash: str,
    username: str,
    method: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    account_stamp: str,
) -> None:
    con.execute(
        "INSERT INTO login_session (token_hash, username, method, created_at, last_seen, expires_at, account_stamp)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [token_hash, username, method, now, now, expires_at, account_stamp],
    )


@dataclass(frozen=True)
class SessionRow:
    username: str
    method: str
    last_seen: dt.datetime
    account_stamp: str
    role: str
    active: bool
    password_hash: str | None
    projects: frozenset[str]


def find_session(con: Connection, token_hash: str, now: dt.datetime, idle_since: dt.datetime) -> SessionRow | None:
    """A session that is not revoked, not past its expiry and seen after `idle_since`, with its account as it
    stands now; None if there is none. A primary-key look-up with one row per project of the account, no more: an
    aggregate here would cost more than the rest of the check together."""
    rows = con.execute(
        "SELECT s.username, s.method, s.last_seen, s.account_stamp, a.role, a.active, a.password_hash, p.project_code"
        " FROM login_session s JOIN user_account a USING (username) LEFT JOIN user_project p USING (username)"
        " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND s.last_seen > ?",
        [token_hash, now, idle_since],
    ).fetchall()
    if not rows:
        return None
    projects = frozenset(row[7] for row in rows if row[7] is not None)
    row = rows[0]
    return SessionRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], projects=projects)


def touch_session(con: Connection, token_hash: str, now: dt.datetime) -> None:
    con.execute("UPDATE login_session SET last_seen = ? WHERE token_hash = ? AND last_seen < ?", [now, token_hash, now])


def revoke_session(con: Connection, token_hash: str, now: dt.datetime) -> None:
    con.execute(
        "UPDATE login_session SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL", [now, token_hash]
    )


def revoke_sessions(con: Connection, username: str, now: dt.datetime | None = None) -> int:
    """End every live session of `username` (default time: the database's clock); returns how many."""
    return con.execute(
        "UPDATE login_session SET revoked_at = coalesce(?::TIMESTAMP, localtimestamp)"
        " WHERE username = ? AND revoked_at IS NULL",
        [now, username],
    ).fetchall()[0][0]


def forget_sessions(con: Connection, before: dt.datetime) -> int:
    """Delete sessions that ended (expired or revoked) before `before`: they can never be used again."""
    sql = "DELETE FROM login_session WHERE expires_at < ? OR revoked_at < ?"
    return con.execute(sql, [before, before]).fetchall()[0][0]


def forget_all_sessions(con: Connection) -> int:
    """Delete every session: a restored database starts with no one logged in."""
    return con.execute("DELETE FROM login_session").fetchall()[0][0]
