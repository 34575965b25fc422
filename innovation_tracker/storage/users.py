"""Accounts: who may log in, with which role and projects, and how their recent log-in attempts went.

The log-in reads here are not scoped (nobody is logged in yet) and return the password hash, so only the accounts
service calls them. The list of accounts for the Users page is a scoped read: access.py shadows the account tables
with empty ones for everyone but admins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.storage.access import query, scoped_read
from innovation_tracker.storage.db import Connection
from innovation_tracker.storage.sessions import revoke_sessions

_ACCOUNT_SQL = """
SELECT a.username, a.display_name, a.email, a.role, a.password_hash, a.active, a.failed_attempts, a.locked_until,
       list(p.project_code ORDER BY p.project_code) FILTER (WHERE p.project_code IS NOT NULL) AS projects
FROM user_account a LEFT JOIN user_project p USING (username)
"""


@dataclass(frozen=True)
class Account:
    username: str
    role: AccountRole
    projects: frozenset[str] = frozenset()
    display_name: str | None = None
    email: str | None = None
    password_hash: str | None = None
    active: bool = True
    failed_attempts: int = 0
    locked_until: dt.datetime | None = None

    def public(self) -> dict:
        """What the audit log may record: everything but the password hash."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "email": self.email,
            "role": self.role.value,
            "projects": sorted(self.projects),
            "active": self.active,
        }


def _account(row: tuple | None) -> Account | None:
    if row is None:
        return None
    username, display_name, email, role, password_hash, active, failed, locked_until, projects = row
    return Account(
        username=username,
        role=AccountRole(role),
        projects=frozenset(projects or ()),
        display_name=display_name,
        email=email,
        password_hash=password_hash,
        active=active,
        failed_attempts=failed,
        locked_until=locked_until,
    )


def count_accounts(con: Connection) -> int:
    return con.execute("SELECT count(*) FROM user_account").fetchall()[0][0]


def count_active_admins(con: Connection) -> int:
    return con.execute("SELECT count(*) FROM user_account WHERE role = 'admin' AND active").fetchall()[0][0]


def get_account(con: Connection, username: str) -> Account | None:
    sql = _ACCOUNT_SQL + " WHERE a.username = ? GROUP BY ALL"
    return _account(con.execute(sql, [username]).fetchone())


def find_account_by_email(con: Connection, email: str) -> Account | None:
    """E-mail addresses match whatever their case; uniqueness is kept the same way when accounts are written."""
    sql = _ACCOUNT_SQL + " WHERE lower(a.email) = lower(?) GROUP BY ALL ORDER BY a.username LIMIT 1"
    return _account(con.execute(sql, [email.strip()]).fetchone())


def insert_account(con: Connection, account: Account) -> None:
    con.execute(
        "INSERT INTO user_account (username, display_name, email, role, password_hash, active)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            account.username,
            account.display_name,
            account.email,
            account.role.value,
            account.password_hash,
            account.active,
        ],
    )
    _insert_projects(con, account.username, account.projects)


def _insert_projects(con: Connection, username: str, projects: frozenset[str]) -> None:
    if projects:
        con.executemany("INSERT INTO user_project VALUES (?, ?)", [[username, code] for code in sorted(projects)])


def update_account(con: Connection, account: Account) -> None:
    """Write the account's name, e-mail, role and projects (not its password or log-in state)."""
    revoke_sessions(con, account.username)  # a changed account logs in again, in every open tab
    con.execute("DELETE FROM user_project WHERE username = ?", [account.username])
    con.execute(
        "UPDATE user_account SET display_name = ?, email = ?, role = ?, active = ? WHERE username = ?",
        [account.display_name, account.email, account.role.value, account.active, account.username],
    )
    _insert_projects(con, account.username, account.projects)


def set_password_hash(con: Connection, username: str, password_hash: str) -> None:
    """A new password also lifts a lockout: the admin who reset it has vouched for the person."""
    revoke_sessions(con, username)
    con.execute(
        "UPDATE user_account SET password_hash = ?, failed_attempts = 0, locked_until = NULL WHERE username = ?",
        [password_hash, username],
    )


def add_failed_attempt(con: Connection, username: str, count: int = 1) -> int:
    """Count `count` more failed attempts (0: the same statements, counting nothing) and return the count, 0 for
    a name no account has. A plain UPDATE, then a read: DuckDB refuses `UPDATE … RETURNING` on an account that
    `user_project` references (a team account)."""
    con.execute("UPDATE user_account SET failed_attempts = failed_attempts + ? WHERE username = ?", [count, username])
    found = con.execute("SELECT failed_attempts FROM user_account WHERE username = ?", [username]).fetchall()
    return found[0][0] if found else 0


def lock_account(con: Connection, username: str, until: dt.datetime) -> None:
    con.execute("UPDATE user_account SET failed_attempts = 0, locked_until = ? WHERE username = ?", [until, username])


def reset_failed_attempts(con: Connection, username: str) -> None:
    con.execute("UPDATE user_account SET failed_attempts = 0, locked_until = NULL WHERE username = ?", [username])


@scoped_read
def list_accounts(con: Connection, viewer: Viewer, now: dt.datetime | None = None) -> pd.DataFrame:
    """Every account for the Users page, without password hashes; empty for anyone but an admin. A lockout that
    has run out by `now` (default: the database's clock) is not shown."""
    return query(
        con,
        viewer,
        "SELECT a.username, a.display_name, a.email, a.role,"
        " coalesce(string_agg(p.project_code, ', ' ORDER BY p.project_code), '') AS projects, a.active,"
        " CASE WHEN a.locked_until > coalesce($now::TIMESTAMP, localtimestamp) THEN a.locked_until END AS locked_until"
        " FROM user_account a LEFT JOIN user_project p USING (username)"
        " GROUP BY a.username, a.display_name, a.email, a.role, a.active, a.locked_until"
        " ORDER BY a.username",
        {"now": now},
    )
