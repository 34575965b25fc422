"""What every data-entry form shares: saving once, messages next to the fields, a toast after the rerun.

A form is saved by `save(form, action, done)`: on success the next run shows a toast and the form's widgets
(keyed `<form>:<field>`) start again from what is stored; on a broken rule the
problems are kept in session state and the page is rerun, so each widget can show its own messages right under
it (`field_errors`) while its value stays as the user typed it (stable widget keys, `clear_on_submit=False`).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Sequence

import streamlit as st

from innovation_tracker import storage
from innovation_tracker.domain.errors import Problem, TrackerError, ValidationError
from innovation_tracker.domain.model import label_of
from innovation_tracker.ui import connection, my_drafts, reference, viewer
from innovation_tracker.ui.text import escape_markdown

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
        if any(p.rule == "changed_meanwhile" for p in error.problems):
            st.session_state.pop(_base_key(form), None)  # the next save goes over what is stored now, knowingly
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
    st.session_state.pop(_base_key(form), None)
    st.session_state.pop(_draft_key(form), None)
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(f"{form}:")]:
        del st.session_state[key]


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


def _base_key(form: str) -> str:
    return f"_forms:base:{form}"


def base(form: str, version: int, snapshot: dict) -> tuple[int, dict]:
    """The record's version and `snapshot` as the form first showed them (kept until the form is saved): what an
    edit is checked against, so a save after someone else's is refused with what they changed. After such a
    refusal the form takes what is stored now as its base, so saving again goes through."""
    return st.session_state.setdefault(_base_key(form), (int(version), snapshot))


def defaults(form: str, values: dict) -> None:
    """Put each field's starting value (`<form>:<field>` -> value) in place unless the user has typed one, so the
    widgets are created without `value=` and what was typed (or restored from a draft) wins."""
    for field, value in values.items():
        st.session_state.setdefault(f"{form}:{field}", value)


def delete_button(form: str, what: str, explanation: str, action: Callable[[], object], done: str) -> None:
    """A delete behind a confirmation: an expander saying what goes and how to get it back, a tick, a button.
    `what` may hold what users typed (a title): it is shown as plain text."""
    shown = escape_markdown(what)
    with st.expander(f"Delete {shown}"):
        st.write(explanation)
        sure = st.checkbox(f"Yes, delete {shown}", key=f"{form}:delete-confirm")
        if st.button(f"Delete {shown}", disabled=not sure, key=f"{form}:delete", icon=":material/delete:"):
            save(f"{form}:delete", action, done)
        other_errors(f"{form}:delete", [])


# Drafts: what a user is typing, kept in the database so a lost session can offer it back.


def _draft_key(form: str) -> str:
    return f"_forms:draft:{form}"


def _json_value(value: object) -> object:
    return {"date": value.isoformat()} if isinstance(value, dt.date) else value


def _python_value(value: object) -> object:
    return dt.date.fromisoformat(value["date"]) if isinstance(value, dict) and "date" in value else value


def typed(form: str, fields: Sequence[str], started: dict) -> dict:
    """What the form holds now, field -> JSON-safe value: the widgets' values, over `started` (what it showed before
    any typing). Fields left empty that did not start with a value are left out, so an untouched form equals
    `typed(form, [], started)`."""
    now = {f: st.session_state[f"{form}:{f}"] for f in fields if f"{form}:{f}" in st.session_state}
    merged = started | now
    return {f: _json_value(v) for f, v in merged.items() if f in started or v not in (None, "", False)}


def offer_draft(form: str) -> bool:
    """When the viewer left a draft of `form` in another session (a reload, a lost connection, a log-out), offer
    it back before the form shows: restore or discard. True while the offer is open (the page shows nothing of the
    form meanwhile, so nothing typed anew overwrites the draft)."""
    if st.session_state.get(_draft_key(form)) is not None:
        return False
    mine = [d for d in my_drafts() if d["form"] == form]
    if not mine:
        st.session_state[_draft_key(form)] = {}
        return False
    draft = mine[0]
    with st.container(border=True):
        st.warning(
            f"**Unsaved draft.** You were typing this form ({escape_markdown(draft['title'])}) on"
            f" {draft['saved_at']:%d %b %Y at %H:%M}"
            " and it was not saved. Restore what you typed, or discard it.",
            icon=":material/edit_note:",
        )
        restore, discard = st.columns(2)
        if restore.button("Restore the draft", type="primary", key=f"_forms:restore:{form}", icon=":material/restore:"):
            content = copy.deepcopy(draft["content"])  # the kept drafts are shared: the form gets its own copy
            for field, value in content.items():
                st.session_state[f"{form}:{field}"] = _python_value(copy.deepcopy(value))
            st.session_state[_draft_key(form)] = content
            st.rerun()
        if discard.button("Discard it", key=f"_forms:discard:{form}", icon=":material/delete:"):
            storage.delete_draft(connection(), viewer().username, form)
            st.session_state[_draft_key(form)] = {}
            st.rerun()
    return True


def keep_draft(form: str, content: dict, started: dict, *, title: str, params: dict, participant: str | None) -> None:
    """Store what is typed as the viewer's draft of `form` whenever it changes; none while it equals `started`
    (what the form showed before any typing)."""
    kept = st.session_state.get(_draft_key(form))
    if kept == content:
        return
    con, me = connection(), viewer().username
    if content == started:
        if kept:  # a draft was stored (or restored) and the user has gone back to what the form started with
            storage.delete_draft(con, me, form)
    else:
        storage.set_draft(
            con,
            me,
            form,
            title=title,
            params=params,
            content=content,
            participant_code=participant,
        )
    st.session_state[_draft_key(form)] = content


def other_drafts(form: str, page_params: Callable[[dict], None]) -> None:
    """The viewer's drafts of other forms, each with a button that opens it (`page_params(params)`)."""
    for draft in my_drafts():
        if draft["form"] == form:
            continue
        text, button = st.columns([4, 1], vertical_alignment="center")
        text.info(
            f"Unsaved draft: **{escape_markdown(draft['title'])}**, typed {draft['saved_at']:%d %b %Y at %H:%M}.",
            icon=":material/edit_note:",
        )
        if button.button("Open it", key=f"_forms:open:{draft['form']}"):
            page_params(draft["params"])
