"""Staying logged in: session tokens that survive a reload, a second tab or a bookmark, and end when they should.

A session token is 256 random bits (`secrets.token_urlsafe(32)`) that the browser keeps in a cookie; the database
keeps only its SHA-256 (a fast hash is enough for a random 256-bit secret: nothing can be guessed from it). A
session lasts until the first of: `Limits.idle` without a script run, `Limits.absolute` after the log-in, a log-out
(which ends every session of the account), or a change to the account's role, projects, password or active flag.
Every script run checks its token with one primary-key look-up, so an ended session is out at its next click.

A service over storage (no streamlit, no duckdb), like `accounts`. Times are naive local time, passed in as `now`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from innovation_tracker import storage
from innovation_tracker.domain.errors import ConflictError, NotFound, TrackerError
from innovation_tracker.domain.model import AccountRole, Viewer

DEFAULT_IDLE = dt.timedelta(hours=8)
DEFAULT_ABSOLUTE = dt.timedelta(days=7)
# last_seen is written at most this often, so a rerun costs one read and not a write.
TOUCH_EVERY = dt.timedelta(minutes=1)
# Sessions that ended longer ago than this are deleted when a new one starts.
FORGET_AFTER = dt.timedelta(days=30)


@dataclass(frozen=True)
class Limits:
    idle: dt.timedelta = DEFAULT_IDLE
    absolute: dt.timedelta = DEFAULT_ABSOLUTE

    def __post_init__(self) -> None:
        if self.idle <= dt.timedelta(0) or self.absolute <= dt.timedelta(0):
            raise ValueError("session limits must be positive")


@dataclass(frozen=True)
class Started:
    token: str  # goes to the browser's cookie, never to the database
    token_hash: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Live:
    viewer: Viewer
    method: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(con: storage.Connection, viewer: Viewer, method: str, *, now: dt.datetime, limits: Limits) -> Started:
    """A new session for `viewer`, who has just logged in."""
    token = secrets.token_urlsafe(32)
    hashed = token_hash(token)
    expires_at = now + limits.absolute

    def work(cur: storage.Connection) -> None:
        account = storage.get_account(cur, viewer.username)
        if account is None:
            raise NotFound(f"There is no account '{viewer.username}'.")
        stamp = account_stamp(account.role.value, account.active, account.password_hash, account.projects)
        storage.forget_sessions(cur, now - FORGET_AFTER)  # keeps the table to the sessions that may still matter
        storage.insert_session(cur, hashed, viewer.username, method, now, expires_at, stamp)

    storage.write(con, work)
    return Started(token, hashed, expires_at)


def check(con: storage.Connection, hashed: str, *, now: dt.datetime, limits: Limits) -> Live | None:
    """The viewer of a live session as the account stands now, or None (unknown, forged, expired, idle too long,
    revoked, or its account changed). A session whose account changed is revoked, so it stays ended even if the
    account is changed back."""
    row = storage.find_session(con, hashed, now, now - limits.idle)
    if row is None:  # unknown, forged, revoked, expired or idle too long: nothing to write
        return None
    if not row.active or account_stamp(row.role, row.active, row.password_hash, row.projects) != row.account_stamp:
        _quietly(con, lambda cur: storage.revoke_session(cur, hashed, now))
        return None
    if now - row.last_seen >= TOUCH_EVERY:
        _quietly(con, lambda cur: storage.touch_session(cur, hashed, now))
    return Live(Viewer(row.username, AccountRole(row.role), row.projects), row.method)


class SessionEnded(TrackerError):
    """A download (or other work done outside a script run) for a session that has ended or changed since."""

    title = "Your session has ended"


def confirm(con: storage.Connection, hashed: str | None, viewer: Viewer, *, now: dt.datetime, limits: Limits) -> None:
    """Raise `SessionEnded` unless the session `hashed` is still live for exactly `viewer`: same account, role and
    projects. Work that runs outside a script run (a download built or served on the click) checks here, so a
    revoked, deactivated or lowered account gets a refusal, never the data of the viewer it was drawn for."""
    live = check(con, hashed, now=now, limits=limits) if hashed else None
    if live is None or live.viewer != viewer:
        raise SessionEnded("This download belongs to a session that has ended or changed. Log in again to download.")


def account_stamp(role: str, active: bool, password_hash: str | None, projects: frozenset[str]) -> str:
    """What a session was granted on: an account whose role, projects, active flag or password hash has changed
    since no longer matches, so its sessions end even if the change came through a path that forgot to revoke them."""
    parts = [role, str(bool(active)), password_hash or "", ",".join(sorted(projects))]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def resume(con: storage.Connection, token: str, *, now: dt.datetime, limits: Limits) -> Live | None:
    """The session a cookie's token belongs to (see `check`)."""
    if not token or len(token) > 256:
        return None
    return check(con, token_hash(token), now=now, limits=limits)


def end_all(con: storage.Connection, username: str, *, now: dt.datetime) -> None:
    """Log-out: every session of the account ends, in every tab and browser."""
    storage.write(con, lambda cur: storage.revoke_sessions(cur, username, now))


def _quietly(con: storage.Connection, work) -> None:
    # Two tabs of one session may touch its row at once; one of them winning is all that matters.
    with contextlib.suppress(ConflictError):
        storage.write(con, work, retries=2)
