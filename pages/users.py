"""Users: who can log in, with which role and which projects (admins only). Every change is audited."""

import datetime as dt

import streamlit as st

from innovation_tracker import ui
from innovation_tracker.app import accounts
from innovation_tracker.domain.model import PASSWORD_MAX_LENGTH, AccountRole, label_of
from innovation_tracker.ui import auth, forms
from innovation_tracker.ui.text import escape_markdown

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

st.title("Users")
admin = auth.current_viewer()
if admin is None or admin.role != AccountRole.ADMIN:
    # Navigation registers this page for admins only; this is the second lock on the door.
    st.error("Only administrators can manage accounts.")
    st.stop()
con = ui.connection()
forms.show_flash()

# Kept until the next write or the next minute: a lock shows until it lapses, to the minute.
table = ui.shared(accounts.list_accounts, dt.datetime.now().replace(second=0, microsecond=0))
st.dataframe(
    ui.as_arrow(table),
    hide_index=True,
    width="stretch",
    column_config={
        "username": "Username",
        "display_name": "Display name",
        "email": "E-mail",
        "role": "Role",
        "projects": "Projects",
        "active": st.column_config.CheckboxColumn("Active"),
        "locked_until": st.column_config.DatetimeColumn("Locked until", format="YYYY-MM-DD HH:mm"),
    },
)
st.caption(
    f"An account is locked for {accounts.LOCKOUT.seconds // 60} minutes after {accounts.MAX_FAILED_ATTEMPTS}"
    " failed log-in attempts; a new password or Unlock lifts the lock. Team accounts see only their own projects."
)

locked = table[table.locked_until.notna()]
if not locked.empty:
    st.subheader("Locked accounts")
    st.caption(
        "The log-in form tells nobody that an account is locked, so that a guesser cannot learn which names exist:"
        " let the person know, or unlock the account once you know the attempts were theirs."
    )
    for row in locked.itertuples():
        name, action = st.columns([4, 1], vertical_alignment="center")
        name.write(f"**{escape_markdown(row.username)}**, locked until {row.locked_until:%d %b %Y %H:%M}")
        if action.button("Unlock", key=f"unlock:{row.username}", icon=":material/lock_open:"):
            forms.save(
                "unlock",
                lambda username=row.username: accounts.unlock_account(con, admin, username),
                f"{row.username} is unlocked and can log in again.",
            )
    forms.other_errors("unlock", [])

roles = list(AccountRole)

st.subheader("Add an account")
ADD = "add_account"
with st.form(ADD, clear_on_submit=False):
    left, right = st.columns(2)
    with left:
        username = st.text_input(
            "Username",
            key=f"{ADD}:username",
            help="2 to 64 lower-case letters, digits, . _ -",
            max_chars=ui.max_chars("username"),
        )
        forms.field_errors(ADD, "username")
        name = st.text_input("Display name", key=f"{ADD}:display_name", max_chars=ui.max_chars("display_name"))
        forms.field_errors(ADD, "display_name")
        email = st.text_input(
            "E-mail",
            key=f"{ADD}:email",
            help="optional; single sign-on matches accounts by it",
            max_chars=ui.max_chars("email"),
        )
        forms.field_errors(ADD, "email")
    with right:
        role = st.selectbox(
            "Role", roles, index=roles.index(AccountRole.FUNDER), format_func=label_of, key=f"{ADD}:role"
        )
        forms.field_errors(ADD, "role")
        chosen = ui.pick_projects("Projects", key=f"{ADD}:projects", help="For team accounts only")
        forms.field_errors(ADD, "projects")
        password = st.text_input(
            "Password",
            type="password",
            key=f"{ADD}:password",
            help="at least 10 characters",
            max_chars=PASSWORD_MAX_LENGTH,
        )
        forms.field_errors(ADD, "password")
    forms.other_errors(ADD, ["username", "display_name", "email", "role", "projects", "password"])
    add = st.form_submit_button("Add account", type="primary")
if add:
    forms.save(
        ADD,
        lambda: accounts.add_account(
            con, admin, username, role=role, password=password, projects=chosen, email=email, display_name=name
        ),
        lambda account: f"Added the account {account.username}.",
    )

st.subheader("Change an account")
if table.empty:
    # Only under single sign-on can an admin be here with no account of their own in the table.
    st.info("No accounts yet: add one above.")
    st.stop()
selected = st.selectbox("Account", table["username"].tolist(), key="change_account")
account = accounts.account_details(con, admin, selected)
# The widgets of each account have keys of their own, so the form always shows the account picked.
CHANGE = f"change_account:{selected}"
with st.form(CHANGE, clear_on_submit=False):
    left, right = st.columns(2)
    with left:
        new_name = st.text_input(
            "Display name",
            value=account.display_name or "",
            key=f"{CHANGE}:display_name",
            max_chars=ui.max_chars("display_name", account.display_name),
        )
        forms.field_errors(CHANGE, "display_name")
        new_email = st.text_input(
            "E-mail", value=account.email or "", key=f"{CHANGE}:email", max_chars=ui.max_chars("email", account.email)
        )
        forms.field_errors(CHANGE, "email")
    with right:
        new_role = st.selectbox(
            "Role", roles, index=roles.index(account.role), format_func=label_of, key=f"{CHANGE}:role"
        )
        forms.field_errors(CHANGE, "role")
        new_projects = ui.pick_projects("Projects", key=f"{CHANGE}:projects", chosen=sorted(account.projects))
        forms.field_errors(CHANGE, "projects")
    forms.other_errors(CHANGE, ["display_name", "email", "role", "projects"])
    save = st.form_submit_button("Save changes", type="primary")
if save:
    edited = accounts.edited_fields(
        account, display_name=new_name, email=new_email, role=new_role, projects=new_projects
    )
    forms.save(
        CHANGE,
        lambda: accounts.change_account(con, admin, selected, **edited),
        f"Saved the changes to {selected}: {', '.join(label_of(f).lower() for f in edited)}."
        if edited
        else f"Nothing to save: no field of {selected} was changed.",
    )

RESET = f"reset_password:{selected}"
with st.form(RESET, clear_on_submit=False):
    new_password = st.text_input(
        f"New password for {escape_markdown(selected)}",
        type="password",
        key=f"{RESET}:password",
        max_chars=PASSWORD_MAX_LENGTH,
    )
    forms.field_errors(RESET, "password")
    forms.other_errors(RESET, ["password"])
    reset = st.form_submit_button("Reset password", help="also lifts a lockout")
if reset:
    forms.save(
        RESET, lambda: accounts.set_password(con, admin, selected, new_password), f"{selected} has a new password."
    )

ACTIVE = f"set_active:{selected}"
if account.active:
    switch = st.button(
        f"Deactivate {escape_markdown(selected)}", icon=":material/person_off:", help="it can no longer log in"
    )
else:
    switch = st.button(f"Reactivate {escape_markdown(selected)}", icon=":material/person:")
forms.other_errors(ACTIVE, [])
if switch:
    state = "reactivated" if not account.active else "deactivated: it can no longer log in"
    forms.save(ACTIVE, lambda: accounts.set_active(con, admin, selected, not account.active), f"{selected} is {state}.")
