"""The session cookie: read from the request, written by a script in the page (see docs/access.md).

Streamlit 1.67 reads cookies (`st.context.cookies`, as the browser sent them when this browser session connected)
but has no server API to set one, short of replacing `streamlit run dashboard.py` with an ASGI `st.App` and a
route of our own. So the cookie is written by a few lines of JavaScript that `st.html` runs in the app's own
document: `SameSite=Strict`, `Secure` whenever the page was loaded over HTTPS, `Path` the app's base path,
`Max-Age` the session's absolute limit. Set from JavaScript, it cannot be `HttpOnly`; docs/access.md says why that is
acceptable here and what limits the harm.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re

import streamlit as st

from innovation_tracker.app import sessions
from innovation_tracker.domain.errors import TrackerError

COOKIE = "innovation_tracker_session"
IDLE_ENV = "INNOVATION_TRACKER_SESSION_IDLE_HOURS"
ABSOLUTE_ENV = "INNOVATION_TRACKER_SESSION_DAYS"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43,256}")


def limits() -> sessions.Limits:
    """Idle and absolute limits: 8 hours and 7 days unless the environment says otherwise (hours and days may be
    fractions, e.g. INNOVATION_TRACKER_SESSION_IDLE_HOURS=0.5)."""
    idle = _positive(IDLE_ENV, sessions.DEFAULT_IDLE / dt.timedelta(hours=1), "hours")
    absolute = _positive(ABSOLUTE_ENV, sessions.DEFAULT_ABSOLUTE / dt.timedelta(days=1), "days")
    return sessions.Limits(idle=dt.timedelta(hours=idle), absolute=dt.timedelta(days=absolute))


def _positive(name: str, default: float, unit: str) -> float:
    text = os.environ.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        value = -1.0
    if not 0 < value < 10_000:
        raise TrackerError(f"{name} must be a positive number of {unit} (it is '{text}'): fix it and restart.")
    return value


def cookie_token() -> str | None:
    """The session token the browser sent when it connected, if it looks like one of ours."""
    token = st.context.cookies.get(COOKIE)
    return token if isinstance(token, str) and _TOKEN.fullmatch(token) else None


def write_cookie(token: str, expires_at: dt.datetime, now: dt.datetime) -> None:
    """Put `token` in the browser's cookie, unless the browser already sent exactly that one."""
    if cookie_token() == token:
        return
    seconds = max(0, int((expires_at - now).total_seconds()))
    _run_cookie_script(f"{COOKIE}={token}; Max-Age={seconds}")


def clear_cookie() -> None:
    _run_cookie_script(f"{COOKIE}=; Max-Age=0")


def _run_cookie_script(cookie: str) -> None:
    path = "/" + str(st.get_option("server.baseUrlPath") or "").strip("/")
    value = json.dumps(f"{cookie}; Path={path}; SameSite=Strict")
    st.html(
        f"<script>document.cookie = {value} + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
        width=1,
    )
