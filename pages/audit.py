"""Audit log: every create, update and delete with who, when, and the values before and after. Read-only, except
that a deleted project, participant, interview or milestone can be restored from it (itself audited)."""

import json

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.app import capture
from innovation_tracker.ui import forms

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

ALL = "(all)"

st.title("Audit log")
con, viewer, today = ui.connection(), ui.viewer(), ui.today()
forms.show_flash()
forms.require_study(con)
choices = ui.read(storage.audit_choices)

entity_box, actor_box, action_box, dates_box = st.columns(4)
entity = entity_box.selectbox("Entity", [ALL, *choices["entity"]])
actor = actor_box.selectbox("Who", [ALL, *choices["actor"]])
action = action_box.selectbox("Action", [ALL, *choices["action"]])
dates = dates_box.date_input("Between", value=(), help="Leave empty for any date")
since, until = (dates + (None, None))[:2] if dates else (None, None)
log = ui.read(storage.audit_log, *(None if v == ALL else v for v in (entity, actor, action)), since, until)

if log.empty:
    st.info("No audit entries match. Every change to the study will be listed here.", icon=":material/history:")
else:
    st.caption(f"{len(log)} entries, newest first (at most 500 are shown: narrow the filters to see older ones).")
    st.dataframe(
        log,
        hide_index=True,
        column_config={
            "audit_id": st.column_config.NumberColumn("#", format="%d"),
            "changed_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY, HH:mm:ss"),
            "actor": "Who",
            "action": "Action",
            "entity": "Entity",
            "entity_key": "Record",
            "before": st.column_config.TextColumn("Before", width="large"),
            "after": st.column_config.TextColumn("After", width="large"),
        },
    )
    shown = st.selectbox("Show one entry in full", list(log.audit_id), format_func=lambda a: f"#{a}")
    entry = log.set_index("audit_id").loc[shown]
    before, after = st.columns(2)
    before.markdown("**Before**")
    before.json(json.loads(entry.before) if isinstance(entry.before, str) else {})
    after.markdown("**After**")
    after.json(json.loads(entry.after) if isinstance(entry.after, str) else {})

st.subheader("Restore a deletion")
deleted = ui.read(storage.restorable_deletions)
if deleted.empty:
    st.caption("Nothing deleted is waiting to be restored.")
    st.stop()
labels = {
    r.audit_id: f"#{r.audit_id}: {r.entity} {r.entity_key}, deleted by {r.actor} on {r.changed_at:%d %b %Y}"
    for r in deleted.itertuples()
}
chosen = st.selectbox("Deleted record", list(labels), format_func=labels.get)
st.caption("Restoring puts back the record with everything deleted along with it (ratings, interviews, …).")
if st.button("Restore", type="primary", icon=":material/restore_from_trash:"):
    forms.save("restore", lambda: capture.restore(con, viewer, chosen), f"Restored {labels[chosen].split(',')[0]}")
forms.other_errors("restore", [])
