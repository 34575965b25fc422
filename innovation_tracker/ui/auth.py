"""Who is using the app: the gate in front of every page (DESIGN §4).

`require_viewer` returns the logged-in `Viewer`, or shows what comes before one (the first administrator's
set-up, the log-in form, single sign-on, or "no access") and stops the script. The viewer lives in the plain
session-state key "viewer", never in a widget key, which the browser could set.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from innovation_tracker import storage
from innovation_tracker.app import accounts, sessions, study_settings
from innovation_tracker.domain.codebook import BUILT_IN_TITLES
from innovation_tracker.domain.errors import Problem, StorageError, ValidationError
from innovation_tracker.domain.model import PASSWORD_MAX_LENGTH, Viewer, label_of
from innovation_tracker.ui import (
    WANTED_PAGE,
    connection,
    demo_banner,
    forms,
    mark_gated_run,
    max_chars,
    navigation,
    show_error,
)
from innovation_tracker.ui import sessions as cookies
from innovation_tracker.ui.text import escape_markdown

SESSION_KEY = "viewer"
# Set only by this gate. Sessions it opened are re-checked against the account on every run, so deactivating an
# account or changing its role takes effect at the next click; a viewer put in place by a test is taken as it is.
METHOD_KEY = "login_method"
NOTICE_KEY = "login_notice"
# The session's token hash (checked against the database on every run), the token and expiry the browser's cookie
# should hold, and whether the cookie must be cleared (after a log-out or a refused cookie).
TOKEN_KEY = "_auth:token_hash"
COOKIE_KEY = "_auth:cookie"
CLEAR_KEY = "_auth:clear_cookie"
# What a change of viewer leaves in the tab's session state: the gate's own keys (and the address asked for before
# the log-in, which names no data), and nothing else. Everything a
# viewer prepared (exports, reports, backups, drafts, widget values, kept pages) belongs to that viewer alone, and goes
# at log-out, at a log-in, when the session is refused on its re-check, and when the account's role or projects change.
SURVIVES_A_CHANGE_OF_VIEWER = frozenset({CLEAR_KEY, NOTICE_KEY, WANTED_PAGE})
LOGIN_KEYS = (SESSION_KEY, METHOD_KEY, TOKEN_KEY, COOKIE_KEY)
SESSION_ENDED = "Your session has ended (logged out, idle too long, or your account was changed). Please log in again."
FIRST_ADMIN = "first_admin"


def current_viewer() -> Viewer | None:
    return st.session_state.get(SESSION_KEY)


def require_viewer() -> Viewer:
    try:
        con = connection()
    except StorageError as error:  # before anyone logs in: a damaged, newer, locked or unwritable file
        st.title("Innovation tracker")
        show_error(error)
        st.stop()
    viewer = _checked_session(con)
    if viewer is None:
        _gate_navigation(con)
        st.stop()
    mark_gated_run()
    _sidebar(con, viewer)
    _keep_cookie()
    return viewer


def _gate_navigation(con: storage.Connection) -> None:
    """Until someone logs in, the gate answers at every page's address, so a deep link (`/timeline?project=…`)
    opens the page asked for once they have logged in."""

    def gate() -> None:
        _gate(con)

    if st.session_state.get(CLEAR_KEY) or cookies.cookie_token():
        cookies.clear_cookie()
    addresses = sorted({spec.url_path for spec in navigation.PAGES})
    pages = [st.Page(gate, title="Log in", default=True)]
    pages += [st.Page(gate, title="Log in", url_path=address) for address in addresses]
    st.navigation(pages, position="hidden").run()


def _gate(con: storage.Connection) -> None:
    if sso_configured():
        _single_sign_on(con)
    elif not accounts.has_accounts(con):
        _first_run(con)
    else:
        _login_form(con)


def sso_configured() -> bool:
    """True when secrets.toml has an [auth] section; without a secrets file at all, st.secrets raises."""
    try:
        return st.secrets.load_if_toml_exists() and "auth" in st.secrets
    except Exception:  # a malformed secrets file: fall back to local accounts rather than lock everyone out
        return False


def _now() -> dt.datetime:
    return dt.datetime.now()


def _checked_session(con: storage.Connection) -> Viewer | None:
    """The viewer of this browser session, checked against the database on every run: a session ended elsewhere
    (log-out in another tab, deactivation, a changed role, projects or password, the idle or absolute limit) is out
    at its next click. A new browser session (reload, new tab, bookmark) resumes from the cookie."""
    viewer = current_viewer()
    if viewer is None:
        return _resumed_session(con)
    if METHOD_KEY not in st.session_state:
        return viewer
    hashed = st.session_state.get(TOKEN_KEY)
    live = sessions.check(con, hashed, now=_now(), limits=cookies.limits()) if hashed else None
    if live is None:
        _end_session()
        deactivated = accounts.current_viewer(con, viewer.username) is None
        st.session_state[NOTICE_KEY] = (
            "Your account has been deactivated. Ask an administrator if you need access."
            if deactivated
            else SESSION_ENDED
        )
        return None
    if live.viewer != viewer:  # the same account with another role or other projects: a new viewer for this tab
        forget_the_viewer(keep=LOGIN_KEYS)
        st.session_state[SESSION_KEY] = live.viewer
    return live.viewer


def _resumed_session(con: storage.Connection) -> Viewer | None:
    token = cookies.cookie_token()
    if token is None or st.session_state.get(CLEAR_KEY):
        return None
    live = sessions.resume(con, token, now=_now(), limits=cookies.limits())
    if live is None:
        st.session_state[CLEAR_KEY] = True
        st.session_state[NOTICE_KEY] = SESSION_ENDED
        return None
    st.session_state[SESSION_KEY] = live.viewer
    st.session_state[METHOD_KEY] = live.method
    st.session_state[TOKEN_KEY] = sessions.token_hash(token)
    return live.viewer


def _start_session(con: storage.Connection, viewer: Viewer, method: str) -> None:
    _open_session(con, viewer, method)
    st.rerun()


def _open_session(con: storage.Connection, viewer: Viewer, method: str) -> None:
    """Log the viewer in: a new session token (its hash kept here and in the database, the token for the cookie)."""
    started = sessions.start(con, viewer, method, now=_now(), limits=cookies.limits())
    forget_the_viewer()
    st.session_state[SESSION_KEY] = viewer
    st.session_state[METHOD_KEY] = method
    st.session_state[TOKEN_KEY] = started.token_hash
    st.session_state[COOKIE_KEY] = (started.token, started.expires_at)
    st.session_state.pop(CLEAR_KEY, None)


def _keep_cookie() -> None:
    """Write the cookie of a session started in this browser session. Written on every run until the browser session
    ends, because a run can be cut short (a rerun, a page switch) before the browser has run the script."""
    pending = st.session_state.get(COOKIE_KEY)
    if pending is not None:
        token, expires_at = pending
        with st.sidebar:
            cookies.write_cookie(token, expires_at, _now())


def _end_session() -> None:
    forget_the_viewer()
    st.session_state[CLEAR_KEY] = True


def forget_the_viewer(keep: tuple[str, ...] = ()) -> None:
    """Empty the tab's session state of everything but the gate's own keys (and `keep`): one viewer per tab."""
    survivors = SURVIVES_A_CHANGE_OF_VIEWER.union(keep)
    for key in list(st.session_state.keys()):
        if key not in survivors:
            del st.session_state[key]


def _header(con: storage.Connection) -> None:
    st.title("Innovation tracker")
    demo_banner(con)
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice)


def _login_form(con: storage.Connection) -> None:
    _header(con)
    _demo_accounts_hint(con)
    column, _ = st.columns([2, 3])
    with column, st.form("login"):
        st.subheader("Log in")
        username = st.text_input("Username", autocomplete="username", max_chars=max_chars("username"))
        password = st.text_input(
            "Password", type="password", autocomplete="current-password", max_chars=PASSWORD_MAX_LENGTH
        )
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    try:
        viewer = accounts.log_in(con, username, password, now=_now())
    except accounts.LoginFailed as failure:
        column.error(failure.message, icon=":material/lock:")
        return
    _start_session(con, viewer, "password")


def _demo_accounts_hint(con: storage.Connection) -> None:
    study = storage.get_study(con)
    if study is not None and study.is_demo:
        st.caption(
            "Demo accounts (this database only): `demo-admin`, `demo-evaluator`, `demo-funder`, and"
            " `demo-team-<project code>` such as `demo-team-arts`; the password of each is"
            f" `{accounts.DEMO_PASSWORD}`."
        )


def _first_run(con: storage.Connection, email: str | None = None) -> None:
    """The one-time set-up of an administrator. Under single sign-on the e-mail is the one just signed in with
    and no password is needed."""
    st.title("Set up the first administrator")
    st.write(
        "This database has no accounts yet. Create the administrator account: it can then add everyone else"
        " on the Users page. This form is shown only once."
    )
    form = FIRST_ADMIN
    with st.form(form, clear_on_submit=False):
        username = st.text_input(
            "Username",
            key=f"{form}:username",
            help="2 to 64 lower-case letters, digits, '.', '_' or '-'",
            max_chars=max_chars("username"),
        )
        forms.field_errors(form, "username")
        name = st.text_input("Display name", key=f"{form}:display_name", max_chars=max_chars("display_name"))
        forms.field_errors(form, "display_name")
        if email is None:
            email_given = st.text_input(
                "E-mail (optional)",
                key=f"{form}:email",
                help="used to match single sign-on, if set up later",
                max_chars=max_chars("email"),
            )
            forms.field_errors(form, "email")
            password = st.text_input(
                "Password",
                type="password",
                key=f"{form}:password",
                help="at least 10 characters",
                max_chars=PASSWORD_MAX_LENGTH,
            )
            forms.field_errors(form, "password")
            repeated = st.text_input(
                "Repeat password", type="password", key=f"{form}:repeat", max_chars=PASSWORD_MAX_LENGTH
            )
            forms.field_errors(form, "repeat")
        else:
            st.text_input("E-mail", value=email, disabled=True)
            forms.field_errors(form, "email")
            email_given, password, repeated = email, None, None
        codebook = _codebook_choice(con, form)
        forms.other_errors(form, ["username", "display_name", "email", "password", "repeat", "codebook"])
        submitted = st.form_submit_button("Create administrator", type="primary")
    if submitted:
        forms.save(
            form, lambda: _create_first_admin(con, username, name, email_given, password, repeated, codebook), None
        )


def _codebook_choice(con: storage.Connection, form: str) -> str | None:
    """A new study's codebook, chosen with its first administrator (None: keep the one it has)."""
    if not study_settings.codebook_choosable(con):
        return None
    current = study_settings.current_codebook(con)
    options = [*([] if current else [None]), *BUILT_IN_TITLES]
    choice = st.radio(
        "Codebook for coding the interviews",
        options,
        index=options.index(current),
        format_func=lambda name: BUILT_IN_TITLES[name] if name else "Keep the codebook this study was created with",
        key=f"{form}:codebook",
        help="Chosen now, before anything is coded; factors can be added, relabelled or retired later in Settings.",
    )
    forms.field_errors(form, "codebook")
    return choice


def _create_first_admin(con, username, name, email, password, repeated, codebook=None) -> None:
    if password is not None and password != repeated:
        raise ValidationError(Problem("password_repeat", "the two passwords differ", "repeat"))
    viewer = accounts.create_first_admin(con, username, password, email=email, display_name=name)
    if codebook is not None:
        study_settings.choose_codebook(con, viewer, codebook)
    _open_session(con, viewer, "first_run" if password is not None else "sso")


def _single_sign_on(con: storage.Connection) -> None:
    if not st.user.get("is_logged_in"):
        _header(con)
        st.write("This dashboard uses your organisation's single sign-on.")
        if st.button("Log in with single sign-on", type="primary", icon=":material/login:"):
            st.login()
        return
    email = str(st.user.get("email") or "")
    if not accounts.has_accounts(con):
        _first_run(con, email=email)
        return
    try:
        viewer = accounts.log_in_by_email(con, email)
    except accounts.NoAccess as refusal:
        st.title("No access")
        st.error(escape_markdown(refusal.message), icon=":material/block:")  # it quotes the e-mail signed in with
        if st.button("Log out", type="primary", icon=":material/logout:"):
            st.logout()
        return
    _start_session(con, viewer, "sso")


def _sidebar(con: storage.Connection, viewer: Viewer) -> None:
    with st.sidebar:
        projects = f" · {escape_markdown(', '.join(sorted(viewer.projects)))}" if viewer.projects else ""
        st.caption(f"Logged in as **{escape_markdown(viewer.username)}** · {label_of(viewer.role.value)}{projects}")
        if st.button("Log out", key="log_out", icon=":material/logout:"):
            _log_out(con, viewer)


def _log_out(con: storage.Connection, viewer: Viewer) -> None:
    method = st.session_state.get(METHOD_KEY)
    sessions.end_all(con, viewer.username, now=_now())
    accounts.log_out(con, viewer)
    _end_session()
    if method == "sso":
        st.logout()
    st.rerun()
