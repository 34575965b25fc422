"""Users: who can log in, with which role and which projects (admins only). Every change is audited."""

import datetime as dt

import streamlit as st

from innovation_tracker import accounts, page_content, ui
from innovation_tracker.domain import AccountRole, label_of
from innovation_tracker.errors import TrackerError, ValidationError
from innovation_tracker.ui import auth
from innovation_tracker.ui.field_errors import FieldErrors

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

FLASH = "users_flash"
ADD_KEYS = ("add_username", "add_name", "add_email", "add_role", "add_projects", "add_password")
CHANGE_KEYS = ("change_name", "change_email", "change_role", "change_projects")


def attempt(errors: FieldErrors, action, message: str, reset=()) -> None:
    """Run one change; on success say so and start the page afresh, otherwise show why next to the fields."""
    try:
        action()
    except ValidationError as error:
        errors.show(error)
        return
    except TrackerError as error:
        ui.show_error(error)
        return
    st.session_state[FLASH] = message
    for key in reset:
        st.session_state.pop(key, None)
    st.rerun()


def forget_change_fields() -> None:
    for key in CHANGE_KEYS:
        st.session_state.pop(key, None)


st.title("Users")
admin = auth.current_viewer()
if admin is None or admin.role != AccountRole.ADMIN:
    # Navigation registers this page for admins only; this is the second lock on the door.
    st.error("Only administrators can manage accounts.")
    st.stop()
con = ui.connection()
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")

# Kept until the next write or the next minute: a lock shows until it lapses, to the minute.
table = ui.shared(accounts.list_accounts, dt.datetime.now().replace(second=0, microsecond=0))
st.dataframe(
    table,
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
    " failed log-in attempts; a new password lifts the lock. Team accounts see only their own projects."
)
projects = ui.shared(page_content.project_choices).codes
roles = list(AccountRole)

st.subheader("Add an account")
add_errors = FieldErrors()
with st.form("add_account"):
    left, right = st.columns(2)
    with left:
        username = st.text_input("Username", key="add_username", help="2 to 64 lower-case letters, digits, . _ -")
        add_errors.slot("username")
        name = st.text_input("Display name", key="add_name")
        email = st.text_input("E-mail", key="add_email", help="optional; single sign-on matches accounts by it")
        add_errors.slot("email")
    with right:
        role = st.selectbox("Role", roles, index=roles.index(AccountRole.FUNDER), format_func=label_of, key="add_role")
        add_errors.slot("role")
        chosen = st.multiselect("Projects", projects, key="add_projects", help="for team accounts only")
        add_errors.slot("projects")
        password = st.text_input("Password", type="password", key="add_password", help="at least 10 characters")
        add_errors.slot("password")
    add = st.form_submit_button("Add account", type="primary")
if add:
    attempt(
        add_errors,
        lambda: accounts.add_account(
            con, admin, username, role=role, password=password, projects=chosen, email=email, display_name=name
        ),
        f"Added the account {username.strip().lower()}.",
        reset=ADD_KEYS,
    )

st.subheader("Change an account")
if table.empty:
    # Only under single sign-on can an admin be here with no account of their own in the table.
    st.info("No accounts yet: add one above.")
    st.stop()
selected = st.selectbox("Account", table["username"].tolist(), key="change_account", on_change=forget_change_fields)
account = accounts.account_details(con, admin, selected)
change_errors = FieldErrors()
with st.form("change_account_form"):
    left, right = st.columns(2)
    with left:
        new_name = st.text_input("Display name", value=account.display_name or "", key="change_name")
        new_email = st.text_input("E-mail", value=account.email or "", key="change_email")
        change_errors.slot("email")
    with right:
        new_role = st.selectbox("Role", roles, index=roles.index(account.role), format_func=label_of, key="change_role")
        change_errors.slot("role")
        new_projects = st.multiselect(
            "Projects", projects, default=sorted(account.projects & set(projects)), key="change_projects"
        )
        change_errors.slot("projects")
    save = st.form_submit_button("Save changes", type="primary")
if save:
    attempt(
        change_errors,
        lambda: accounts.change_account(
            con, admin, selected, role=new_role, projects=new_projects, email=new_email, display_name=new_name
        ),
        f"Saved the changes to {selected}.",
    )

password_errors = FieldErrors()
with st.form("reset_password"):
    new_password = st.text_input(f"New password for {selected}", type="password", key="reset_password_value")
    password_errors.slot("password")
    reset = st.form_submit_button("Reset password", help="also lifts a lockout")
if reset:
    attempt(
        password_errors,
        lambda: accounts.set_password(con, admin, selected, new_password),
        f"{selected} has a new password.",
        reset=("reset_password_value",),
    )

active_errors = FieldErrors()
if account.active:
    switch = st.button(f"Deactivate {selected}", icon=":material/person_off:", help="it can no longer log in")
else:
    switch = st.button(f"Reactivate {selected}", icon=":material/person:")
active_errors.slot("active")
if switch:
    state = "reactivated" if not account.active else "deactivated: it can no longer log in"
    attempt(
        active_errors, lambda: accounts.set_active(con, admin, selected, not account.active), f"{selected} is {state}."
    )
