"""Accounts and logging in (DESIGN §4): password rules, lockout, roles and projects, the first admin, demo accounts.

A service over storage, with no streamlit and no duckdb: the log-in gate, the Users page and the CLI all call it.
Every change is audited with the values before and after, never the password hash. Functions that depend on the
time take `now` (naive local time, as stored), so tests can move the clock.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import re
import secrets
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

from innovation_tracker import storage
from innovation_tracker.domain.errors import AccessDenied, NotFound, Problem, TrackerError, ValidationError
from innovation_tracker.domain.model import (
    PASSWORD_MAX_LENGTH,
    TEXT_LIMITS,
    AccountRole,
    Viewer,
    check_length,
    require,
)

PASSWORD_MIN_LENGTH = 10
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = dt.timedelta(minutes=15)
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
WRONG_CREDENTIALS = (
    f"Unknown username or wrong password. After {MAX_FAILED_ATTEMPTS} failed attempts an account is locked for"
    f" {LOCKOUT.seconds // 60} minutes; an administrator can unlock it."
)
# The actor of what happens before anyone has logged in (a failed log-in): the audit's actor is always an account
# that proved who it is, or this.
ANONYMOUS = "(not logged in)"
DEMO_PASSWORD = "innovation-demo"
DEMO_EMAIL_DOMAIN = "example.org"
ENTITY = "user_account"

# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory parameters.
_hasher = PasswordHasher()


class LoginFailed(TrackerError):
    title = "Not logged in"


class NoAccess(TrackerError):
    title = "No access"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _decoy_hash() -> str:
    """A hash with this hasher's parameters that no password matches (its digest is random bytes, not the hash of
    anything): checking a password against it costs what checking a real one does. Made without hashing, when the
    module loads, so the first unknown name after a start is no slower than any other attempt."""

    def b64(size: int) -> str:
        return base64.b64encode(secrets.token_bytes(size)).decode().rstrip("=")

    h = _hasher
    return (
        f"$argon2{h.type.name.lower()}$v={ARGON2_VERSION}$m={h.memory_cost},t={h.time_cost},p={h.parallelism}"
        f"${b64(h.salt_len)}${b64(h.hash_len)}"
    )


_DECOY_HASH = _decoy_hash()


def password_problems(password: str, field: str = "password") -> list[Problem]:
    if len(password) < PASSWORD_MIN_LENGTH:
        return [
            Problem(
                "password_length",
                f"a password needs at least {PASSWORD_MIN_LENGTH} characters (this one has {len(password)})",
                field,
            )
        ]
    if len(password) > PASSWORD_MAX_LENGTH:
        message = f"a password has at most {PASSWORD_MAX_LENGTH:,} characters (this one has {len(password):,})"
        return [Problem("password_length", message, field)]
    return []


def username_problems(username: str) -> list[Problem]:
    if not USERNAME_PATTERN.fullmatch(username):
        return [
            Problem(
                "username_format",
                f"'{username}' is not a valid username: use 2 to 64 lower-case letters, digits, '.', '_' or '-',"
                " starting with a letter or digit",
                "username",
            )
        ]
    return []


def email_problems(con: storage.Connection, email: str | None, username: str) -> list[Problem]:
    """A well-formed address that no other account uses (whatever the case: single sign-on matches it so)."""
    if email is None:
        return []
    if check_length(email, "email"):
        return check_length(email, "email")
    if not EMAIL_PATTERN.fullmatch(email):
        return [Problem("email_format", f"'{email}' is not an e-mail address", "email")]
    owner = storage.find_account_by_email(con, email)
    if owner is not None and owner.username != username:
        return [Problem("email_taken", f"{email} is already the e-mail of another account", "email")]
    return []


def role_problems(con: storage.Connection, role: AccountRole, projects: frozenset[str]) -> list[Problem]:
    """A team account sees its own projects, so it needs at least one; the other roles see them all and take none."""
    if role == AccountRole.TEAM and not projects:
        return [Problem("team_projects", "a team account needs at least one project", "projects")]
    if role != AccountRole.TEAM and projects:
        return [Problem("team_projects", f"only team accounts have projects; a {role.value} sees them all", "projects")]
    unknown = sorted(projects - storage.known_keys(con, "projects", "project_code"))
    if unknown:
        return [Problem("unknown_project", f"no project has the code {', '.join(unknown)}", "projects")]
    return []


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def _role(value: AccountRole | str) -> AccountRole:
    try:
        return AccountRole(value)
    except ValueError:
        allowed = ", ".join(r.value for r in AccountRole)
        raise ValidationError(Problem("allowed_values", f"'{value}' is not one of: {allowed}", "role")) from None


def viewer_of(account: storage.Account) -> Viewer:
    return Viewer(account.username, account.role, account.projects)


def has_accounts(con: storage.Connection) -> bool:
    return storage.count_accounts(con) > 0


def _audit(
    con: storage.Connection,
    actor: str,
    action: str,
    key: str | None,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    storage.write(con, lambda cur: storage.record_audit(cur, actor, action, ENTITY, key, before, after))


def audit_event(
    con: storage.Connection,
    viewer: Viewer,
    action: str,
    entity: str,
    key: str | None,
    after: dict | None = None,
) -> None:
    """Record something a viewer did that changes nothing, such as an export or a report download."""
    storage.write(con, lambda cur: storage.record_audit(cur, viewer.username, action, entity, key, None, after))


def _require_admin(actor: Viewer) -> None:
    if actor.role != AccountRole.ADMIN:
        raise AccessDenied("Only an administrator can manage accounts.")


def _existing(con: storage.Connection, username: str) -> storage.Account:
    account = storage.get_account(con, username)
    if account is None:
        raise NotFound(f"There is no account '{username}'.")
    return account


@contextlib.contextmanager
def _attempt_lock(con: storage.Connection, username: str) -> Iterator[None]:
    """The lock that puts one account's log-in attempts in a line: one in this process, and `storage.exclusive`
    for the other processes on the database (on PostgreSQL several servers take attempts at once; a DuckDB file has
    one process). The locks are striped by name: a guesser trying many names cannot make the process keep one lock
    per name, nor PostgreSQL one advisory lock per name."""
    stripe = zlib.crc32(username.encode()) % len(_ATTEMPT_LOCKS)
    with _ATTEMPT_LOCKS[stripe], storage.exclusive(con, f"log-in attempts {stripe}"):
        yield


_ATTEMPT_LOCKS = tuple(threading.Lock() for _ in range(64))


def log_in(con: storage.Connection, username: str, password: str, *, now: dt.datetime) -> Viewer:
    """The viewer for a username and password, or `LoginFailed`.

    Unknown, wrong, locked and deactivated all get the same message after the same work: one password check (of
    the account's hash, or of a decoy when there is nothing to check) and the same statements, so neither the
    words nor the time tell a guesser whether an account exists or is locked; the admin's Users page shows the
    locks. An account's attempts are checked one at a time: the lock check, the password check and the count of
    failures are one step, so parallel guesses cannot pass the limit, and a right password is refused once the
    limit is reached. Names and passwords longer than any account's are cut to one character past the longest,
    which matches nothing, so the check costs what any other does.
    """
    username = username.strip().lower()[: TEXT_LIMITS["username"]]
    password = password[: PASSWORD_MAX_LENGTH + 1]
    with _attempt_lock(con, username):
        account = storage.get_account(con, username)
        refusal = _refusal(account, now)
        checked = account.password_hash if account is not None and refusal is None else _DECOY_HASH
        if password_matches(checked, password) and account is not None and refusal is None:
            _succeed(con, account, password)
            return viewer_of(account)
        _count_failure(con, username, refusal, now)
    raise LoginFailed(WRONG_CREDENTIALS)


def _refusal(account: storage.Account | None, now: dt.datetime) -> dict | None:
    """Why an account's password is not even checked, or None when it may be."""
    if account is None:
        return {"reason": "unknown_username"}
    if not account.active:
        return {"reason": "inactive"}
    if not account.password_hash:
        return {"reason": "no_password"}
    if account.locked_until is not None and account.locked_until > now:
        return {"reason": "locked", "until": account.locked_until}
    return None


def _count_failure(con: storage.Connection, username: str, refusal: dict | None, now: dt.datetime) -> None:
    """A failed log-in, recorded by the same statements whatever the reason: a wrong password counts one more
    failure (and the fifth locks the account), a refused attempt counts none (an unknown name updates no row), and
    each is audited as an event by nobody about the name tried."""
    locked_until = now + LOCKOUT

    def work(cur: storage.Connection) -> None:
        failures = storage.add_failed_attempt(cur, username, 1 if refusal is None else 0)
        after: dict = {"reason": "wrong_password", "failed_attempts": failures} if refusal is None else refusal
        if refusal is None and failures >= MAX_FAILED_ATTEMPTS:
            storage.lock_account(cur, username, locked_until)
            after["locked_until"] = locked_until
        storage.record_audit(cur, ANONYMOUS, "login_failed", ENTITY, username, None, after)

    storage.write(con, work)


def _succeed(con: storage.Connection, account: storage.Account, password: str) -> None:
    # Hashes made with older parameters are upgraded while the password is at hand.
    assert account.password_hash is not None  # its password has just matched it
    new_hash = hash_password(password) if _hasher.check_needs_rehash(account.password_hash) else None

    def work(cur: storage.Connection) -> None:
        storage.reset_failed_attempts(cur, account.username)
        if new_hash:
            storage.set_password_hash(cur, account.username, new_hash)
        storage.record_audit(cur, account.username, "login", ENTITY, account.username, None, {"method": "password"})

    storage.write(con, work)


def log_in_by_email(con: storage.Connection, email: str) -> Viewer:
    """The viewer for an e-mail address that single sign-on has vouched for, or `NoAccess`."""
    account = storage.find_account_by_email(con, email) if email else None
    if account is None or not account.active:
        reason = "no_account" if account is None else "inactive"
        _audit(con, ANONYMOUS, "login_failed", email or None, after={"reason": reason, "method": "sso"})
        raise NoAccess(
            f"You signed in as {email or 'an account without an e-mail address'}, but no active account of this"
            " dashboard has that e-mail address. Ask an administrator to add it, then log in again."
        )
    _audit(con, account.username, "login", account.username, after={"method": "sso"})
    return viewer_of(account)


def current_viewer(con: storage.Connection, username: str) -> Viewer | None:
    """The viewer as the account stands now (role or projects may have changed), or None once it is deactivated."""
    account = storage.get_account(con, username)
    return viewer_of(account) if account is not None and account.active else None


def log_out(con: storage.Connection, viewer: Viewer) -> None:
    _audit(con, viewer.username, "logout", viewer.username)


def _account_problems(con: storage.Connection, account: storage.Account) -> list[Problem]:
    return (
        check_length(account.display_name, "display_name")
        + email_problems(con, account.email, account.username)
        + role_problems(con, account.role, account.projects)
    )


def _last_admin_problems(
    con: storage.Connection, before: storage.Account, after: storage.Account, field: str
) -> list[Problem]:
    was_admin = before.active and before.role == AccountRole.ADMIN
    still_admin = after.active and after.role == AccountRole.ADMIN
    if was_admin and not still_admin and storage.count_active_admins(con) <= 1:
        message = f"{before.username} is the only active administrator: make another account an administrator first"
        return [Problem("last_admin", message, field)]
    return []


def _new_account(
    username: str,
    role: AccountRole | str,
    projects: Iterable[str],
    email: str | None,
    display_name: str | None,
) -> storage.Account:
    return storage.Account(
        username=username.strip().lower(),
        role=_role(role),
        projects=frozenset(code.strip() for code in projects if code.strip()),
        display_name=_clean(display_name),
        email=_clean(email),
    )


def create_first_admin(
    con: storage.Connection,
    username: str,
    password: str | None,
    *,
    email: str | None = None,
    display_name: str | None = None,
) -> Viewer:
    """The one-time set-up of a database with no accounts. `password` is None under single sign-on."""
    account = _new_account(username, AccountRole.ADMIN, (), email, display_name)
    problems = username_problems(account.username) + email_problems(con, account.email, account.username)
    problems += check_length(account.display_name, "display_name")
    require(problems + (password_problems(password) if password is not None else []))
    account = replace(account, password_hash=hash_password(password) if password is not None else None)

    def work(cur: storage.Connection) -> None:
        # Checked inside the transaction: two people racing through the first-run form cannot both win.
        if storage.count_accounts(cur):
            raise ValidationError(Problem("accounts_exist", "an administrator already exists: log in instead"))
        storage.insert_account(cur, account)
        storage.record_audit(cur, account.username, "create", ENTITY, account.username, None, account.public())
        storage.record_audit(cur, account.username, "login", ENTITY, account.username, None, {"method": "first_run"})

    storage.write(con, work)
    return viewer_of(account)


def add_account(
    con: storage.Connection,
    actor: Viewer,
    username: str,
    *,
    role: AccountRole | str,
    password: str,
    projects: Iterable[str] = (),
    email: str | None = None,
    display_name: str | None = None,
) -> storage.Account:
    _require_admin(actor)
    account = _new_account(username, role, projects, email, display_name)
    problems = username_problems(account.username) + _account_problems(con, account) + password_problems(password)
    if storage.get_account(con, account.username) is not None:
        problems.insert(0, Problem("username_taken", f"there is already an account '{account.username}'", "username"))
    require(problems)
    account = replace(account, password_hash=hash_password(password))

    def work(cur: storage.Connection) -> None:
        storage.insert_account(cur, account)
        storage.record_audit(cur, actor.username, "create", ENTITY, account.username, None, account.public())

    storage.write(con, work)
    return account


UNCHANGED: Any = object()  # an argument of change_account left as the account has it


def change_account(
    con: storage.Connection,
    actor: Viewer,
    username: str,
    *,
    role: AccountRole | str = UNCHANGED,
    projects: Iterable[str] = UNCHANGED,
    email: str | None = UNCHANGED,
    display_name: str | None = UNCHANGED,
) -> storage.Account:
    """Change what is given of an account's role, projects, e-mail and name; what is not given stays as it is now
    (not as someone last saw it). Unchanged accounts are left, and not audited."""
    _require_admin(actor)
    before = _existing(con, username)
    changes: dict = {}
    if role is not UNCHANGED:
        changes["role"] = _role(role)
    if projects is not UNCHANGED:
        changes["projects"] = frozenset(code.strip() for code in projects if code.strip())
    if email is not UNCHANGED:
        changes["email"] = _clean(email)
    if display_name is not UNCHANGED:
        changes["display_name"] = _clean(display_name)
    after = replace(before, **changes)
    require(_account_problems(con, after) + _last_admin_problems(con, before, after, "role"))
    if after != before:
        _write_change(con, actor, before, after)
    return after


def edited_fields(
    account: storage.Account, *, display_name: str, email: str, role: AccountRole, projects: Iterable[str]
) -> dict:
    """Of what a form shows for `account`, the fields the user changed (for `change_account`)."""
    shown = {
        "display_name": _clean(display_name),
        "email": _clean(email),
        "role": role,
        "projects": frozenset(projects),
    }
    return {field: value for field, value in shown.items() if value != getattr(account, field)}


def set_active(con: storage.Connection, actor: Viewer, username: str, active: bool) -> storage.Account:
    """Deactivate (nobody can log in as it; its history stays) or reactivate an account."""
    _require_admin(actor)
    before = _existing(con, username)
    after = replace(before, active=active)
    problems = _last_admin_problems(con, before, after, "active")
    if not active and username == actor.username:
        problems = [Problem("own_account", "you cannot deactivate the account you are logged in with", "active")]
    require(problems)
    if after != before:
        _write_change(con, actor, before, after)
    return after


def _write_change(con: storage.Connection, actor: Viewer, before: storage.Account, after: storage.Account) -> None:
    def work(cur: storage.Connection) -> None:
        storage.update_account(cur, after)
        storage.record_audit(cur, actor.username, "update", ENTITY, after.username, before.public(), after.public())

    storage.write(con, work)


def set_password(con: storage.Connection, actor: Viewer, username: str, password: str) -> None:
    """Give an account a new password; this also lifts a lockout."""
    _require_admin(actor)
    account = _existing(con, username)
    require(password_problems(password))
    new_hash = hash_password(password)
    before = {"password": "set" if account.password_hash else "none", "locked_until": account.locked_until}
    after = {"password": "reset", "locked_until": None}

    def work(cur: storage.Connection) -> None:
        storage.set_password_hash(cur, username, new_hash)
        storage.record_audit(cur, actor.username, "update", ENTITY, username, before, after)

    storage.write(con, work)


def unlock_account(con: storage.Connection, actor: Viewer, username: str) -> None:
    """Lift a lockout before it runs out (the Users page lists locked accounts: the locked person learns of it
    from an administrator, never from the log-in form)."""
    _require_admin(actor)
    account = _existing(con, username)
    before = {"failed_attempts": account.failed_attempts, "locked_until": account.locked_until}
    after = {"failed_attempts": 0, "locked_until": None}

    def work(cur: storage.Connection) -> None:
        storage.reset_failed_attempts(cur, username)
        storage.record_audit(cur, actor.username, "update", ENTITY, username, before, after)

    storage.write(con, work)


def list_accounts(con: storage.Connection, viewer: Viewer, now: dt.datetime):
    """Every account for the Users page (a DataFrame; empty for anyone but an admin)."""
    return storage.list_accounts(con, viewer, now)


def account_details(con: storage.Connection, actor: Viewer, username: str) -> storage.Account:
    """An account as the Users page edits it (without its password hash)."""
    _require_admin(actor)
    return replace(_existing(con, username), password_hash=None)


def demo_accounts(project_codes: Iterable[str]) -> list[storage.Account]:
    """An admin, an evaluator, a funder, and a team account for each project: the demo database's accounts."""
    staff = [
        storage.Account("demo-admin", AccountRole.ADMIN, display_name="Demo administrator"),
        storage.Account("demo-evaluator", AccountRole.EVALUATOR, display_name="Demo evaluator"),
        storage.Account("demo-funder", AccountRole.FUNDER, display_name="Demo funder"),
    ]
    teams = [
        storage.Account(
            f"demo-team-{code.lower()}", AccountRole.TEAM, frozenset({code}), display_name=f"Demo team of {code}"
        )
        for code in sorted(project_codes)
    ]
    return [replace(a, email=f"{a.username}@{DEMO_EMAIL_DOMAIN}") for a in staff + teams]


def create_demo_accounts(con: storage.Connection, actor: str = "system") -> int:
    # argon2 is slow on purpose, and every demo account has the same password: hash it once.
    shared_hash = hash_password(DEMO_PASSWORD)
    accounts = [
        replace(a, password_hash=shared_hash)
        for a in demo_accounts(storage.known_keys(con, "projects", "project_code"))
    ]

    def work(cur: storage.Connection) -> None:
        for account in accounts:
            storage.insert_account(cur, account)
            storage.record_audit(cur, actor, "create", ENTITY, account.username, None, account.public())

    storage.write(con, work)
    return len(accounts)
