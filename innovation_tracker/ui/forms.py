"""What every data-entry form shares: saving once, messages next to the fields, a toast after the rerun.

A form is saved by `save(form, action, done)`: on success the next run shows a toast and the form's widgets
(keyed `<form>:<field>`) start again from what is stored; on a broken rule the
problems are kept in session state and the page is rerun, so each widget can show its own messages right under
it (`field_errors`) while its value stays as the user typed it (stable widget keys, `clear_on_submit=False`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from .. import storage
from ..domain import label_of
from ..errors import Problem, TrackerError, ValidationError
from . import reference
from .text import escape_markdown

FLASH = "_forms:flash"
NOTICE = "_forms:notice"


def _key(form: str) -> str:
    return f"_forms:problems:{form}"


def problems(form: str) -> list[Problem]:
    return st.session_state.get(_key(form), [])


def save(form: str, action: Callable[[], object], done: str | Callable[[object], str] | None) -> None:
    """Run `action`; remember its problems or the confirmation (none when `done` is None), then rerun so the page
    shows either. The confirmation is shown as plain text: it may quote what the user typed."""
    try:
        result = action()
    except ValidationError as error:
        st.session_state[_key(form)] = error.problems
    except TrackerError as error:
        st.session_state[_key(form)] = [Problem("not_saved", f"{error.title}. {error.message}")]
    else:
        clear(form)
        if done is not None:
            st.session_state[FLASH] = done(result) if callable(done) else done
        note = getattr(result, "note", None)
        if note:
            st.session_state[NOTICE] = note
    st.rerun()


def show_flash() -> None:
    """The confirmation of the last save (a toast), and any note that must stay on screen; both plain text."""
    if FLASH in st.session_state:
        st.toast(escape_markdown(st.session_state.pop(FLASH)), icon=":material/check_circle:")
    if NOTICE in st.session_state:
        st.warning(escape_markdown(st.session_state.pop(NOTICE)), icon=":material/event_busy:")


def _message(problem: Problem) -> str:
    return f"**{label_of(problem.rule)}:** {escape_markdown(problem.message)}"


def field_errors(form: str, field: str) -> None:
    """Under a widget: every broken rule about its field."""
    for problem in problems(form):
        if problem.field == field:
            st.error(_message(problem), icon=":material/error:")


def other_errors(form: str, fields: Sequence[str]) -> None:
    """In the form: broken rules about anything not shown as its own widget."""
    found = problems(form)
    if found:
        st.error("**Nothing was saved.** Each message names the rule that was broken.", icon=":material/block:")
    for problem in found:
        if problem.field not in fields:
            st.error(_message(problem), icon=":material/error:")


def clear(form: str) -> None:
    """Forget the form's problems and what was typed (widget keys are `<form>:<field>`), so it shows what is stored."""
    st.session_state.pop(_key(form), None)
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(f"{form}:")]:
        del st.session_state[key]


def preselected(options: Sequence, param: str) -> int:
    """The index of the option named by the page's query parameter (a deep link), else the first."""
    wanted = st.query_params.get(param)
    options = [str(o) for o in options]
    return options.index(wanted) if wanted in options else 0


def require_study(con: storage.Connection):
    """The study, or an explanation of how to create one (and the page stops)."""
    study = reference(storage.get_study)
    if study is None:
        st.warning(
            "This database holds no study yet. Create one with `python -m innovation_tracker init --db PATH`, "
            "or start with the demo: `python -m innovation_tracker demo --db PATH`."
        )
        st.stop()
    return study


def require_projects(projects) -> None:
    """Stop the page, with a way to add one, when `projects` (codes, or a table of them) is empty."""
    if len(projects) == 0:
        st.info("No projects yet. Start by adding one under **Projects and participants**.", icon=":material/info:")
        st.page_link("pages/manage.py", label="Add a project", icon=":material/add_business:")
        st.stop()
