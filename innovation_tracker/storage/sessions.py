"""Log-in sessions: the SQL behind staying logged in across reloads and tabs (see `innovation_tracker.sessions`).

Rows are keyed by the SHA-256 of the session token; the token itself is never stored. These reads are not scoped
(they decide who the viewer is), so only the sessions service calls them.
"""

from __future__ import annotations

import datetime as dt

from .db import Connection

# What the session was granted on: an account whose role, projects, active flag or password hash has changed since
# no longer matches, so its sessions end even if the change came through a path that forgot to revoke them.
_STAMP = (
    "md5(concat_ws('|', a.role, a.active::VARCHAR, coalesce(a.password_hash, ''),"
    " coalesce((SELECT string_agg(p.project_code, ',' ORDER BY p.project_code) FROM user_project p"
    " WHERE p.username = a.username), '')))"
)


def insert_session(
    con: Connection, token_hash: str, username: str, method: str, now: dt.datetime, expires_at: dt.datetime
) -> None:
    con.execute(
        "INSERT INTO login_session (token_hash, username, method, created_at, last_seen, expires_at, account_stamp)"
        f" SELECT ?, a.username, ?, ?, ?, ?, {_STAMP} FROM user_account a WHERE a.username = ?",
        [token_hash, method, now, now, expires_at, username],
    )


def find_session(con: Connection, token_hash: str, now: dt.datetime, idle_since: dt.datetime) -> tuple | None:
    """(username, role, projects, method, last_seen) of a live session: not revoked, not past its expiry, seen after
    `idle_since`, and its account active and unchanged. One look-up by primary key."""
    return con.execute(
        "SELECT s.username, a.role, list(p.project_code ORDER BY p.project_code) FILTER (WHERE p.project_code IS NOT"
        " NULL), s.method, s.last_seen"
        " FROM login_session s JOIN user_account a USING (username) LEFT JOIN user_project p USING (username)"
        " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND s.last_seen > ? AND a.active"
        f" AND s.account_stamp = {_STAMP}"
        " GROUP BY s.username, a.role, s.method, s.last_seen",
        [token_hash, now, idle_since],
    ).fetchone()


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
    ).fetchone()[0]


def forget_sessions(con: Connection, before: dt.datetime) -> int:
    """Delete sessions that ended (expired or revoked) before `before`: they can never be used again."""
    sql = "DELETE FROM login_session WHERE expires_at < ? OR revoked_at < ?"
    return con.execute(sql, [before, before]).fetchone()[0]
