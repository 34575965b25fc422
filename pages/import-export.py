"""Import and export: the study's data out (tidy files, reports, backups) and in (tidy files, REDCap exports).

One page for every role: what each tab hands out is scoped to the viewer by the package (a team's export holds its
own project, de-identified), and the tabs that change data or hold identities only appear for those allowed.
"""

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.app import backup, service
from innovation_tracker.domain.errors import TrackerError, ValidationError
from innovation_tracker.domain.model import AccountRole
from innovation_tracker.formats import tidy
from innovation_tracker.ui.downloads import download_button
from innovation_tracker.ui.text import escape_markdown, markdown_cells
from innovation_tracker.views import page_content, reports

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

FORMATS = {"csv": "CSV files (zip)", "xlsx": "Excel workbook", "parquet": "Parquet files (zip)"}
MIME = {".zip": "application/zip", ".pdf": "application/pdf", ".html": "text/html",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip
PREVIEW_ROWS = 5
DIFFERENCES_SHOWN = 50

st.title("Import and export")
con = ui.connection()
viewer = ui.viewer()
ui.demo_banner(con)
study = ui.reference(storage.get_study)


def rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def mime(name: str) -> str:
    return next((m for suffix, m in MIME.items() if name.endswith(suffix)), "application/octet-stream")


def offer(key: str, label: str) -> None:
    """The download prepared earlier in this session under `key`, if any."""
    if key in st.session_state:
        name, data = st.session_state[key]
        download_button(
            f"{label} · {name} ({len(data) / 1024:,.0f} KB)",
            data,
            file_name=name,
            mime=mime(name),
            icon=":material/download:",
            type="primary",
            key=f"{key}_button",
        )


def show_problems(error: ValidationError) -> None:
    st.error(f"**Nothing was imported.** {len(error.problems)} problem(s) to fix first:", icon=":material/block:")
    download_button(
        "Download the problems (CSV)",
        service.problems_csv(error.problems),
        file_name="import-problems.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    st.dataframe(
        service.problem_frame(error.problems),
        hide_index=True,
        width="stretch",
        column_config={
            "Row": st.column_config.NumberColumn(width="small"),
            "Rule": st.column_config.TextColumn(width="small"),
            "Problem": st.column_config.TextColumn(width="large"),
        },
    )


def export_tab() -> None:
    if viewer.identified:
        st.caption("The whole study, as stored: the files `import` reads back, plus `wide.csv` for analysts.")
    else:
        scope = "all projects" if viewer.all_projects else "your project"
        st.caption(
            f"Data of {scope}, de-identified: participants appear by role, without summaries, and only excerpts "
            f"marked shareable. {ui.pooling_note()} Includes `wide.csv`: one row per project and wave, a column per"
            " factor (mean rating)."
        )
    fmt = st.radio("Format", list(FORMATS), format_func=FORMATS.get, horizontal=True, key="export_format")
    if st.button("Prepare export", icon=":material/inventory_2:"):
        with st.spinner("Writing the files…"):
            st.session_state["export_file"] = service.export_download(con, viewer, fmt)
    offer("export_file", "Download export")


def report_tab() -> None:
    if study is None:
        st.info("Reports need a study: create one with `python -m innovation_tracker init`.")
        return
    scope = ui.pick_project("Report on", key="report_scope", none="The whole portfolio")
    waves = ui.reference(storage.list_waves)
    labels = {w.wave: w.label for w in waves}
    wave = st.selectbox(
        "At wave",
        [None, *labels],
        format_func=lambda w: "The latest wave with data" if w is None else labels[w],
        key="report_wave",
    )
    fmt = st.radio("Format", ["pdf", "html"], format_func=str.upper, horizontal=True, key="report_format")
    st.caption("Participants appear by role only and only excerpts marked shareable are quoted, whoever asks.")
    if st.button("Build report", icon=":material/description:"):
        build_report(scope, wave, fmt)
    offer("report_file", "Download report")


def build_report(project: str | None, wave: str | None, fmt: str) -> None:
    with st.status("Building the report…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")
        try:
            st.session_state["report_file"] = reports.build(
                con,
                viewer,
                today=ui.today(),
                project_code=project,
                wave=wave,
                fmt=fmt,
                progress=lambda fraction, message: bar.progress(min(fraction, 1.0), text=message),
            )
        except TrackerError as error:
            st.session_state.pop("report_file", None)
            status.update(label="The report could not be built", state="error")
            ui.show_error(error)
            return
        status.update(label="Report ready", state="complete", expanded=False)


def import_tab() -> None:
    st.caption(
        "Tidy CSV files named after their table (`projects.csv`, `interviews.csv`, …), one Excel workbook with a "
        "sheet per table, Parquet files, or a REDCap export of the project from the REDCap tab. Re-import your whole "
        "cumulative export every month: rows already stored are recognised as unchanged and only new rows are "
        "added. Every row is checked first and the plan shown; nothing is written until you import it."
    )
    left, right = st.columns(2)
    download_button(
        "Empty template (Excel)",
        tidy.template_xlsx,
        file_name="import-template.xlsx",
        mime=mime(".xlsx"),
        icon=":material/table:",
        where=left,
    )
    download_button(
        "Empty template (CSV files, zip)",
        tidy.template_zip,
        file_name="import-template.zip",
        mime=mime(".zip"),
        icon=":material/folder_zip:",
        where=right,
    )
    uploads = st.file_uploader(
        "Files to import",
        type=["csv", "xlsx", "parquet"],
        accept_multiple_files=True,
        key="import_files",
        max_upload_size=service.MAX_FILE_MB,
        help=f"CSV (tidy files or a REDCap export), Excel or Parquet; at most {service.MAX_FILE_MB} MB each",
    )
    done = st.session_state.pop("import_done", None)
    if done:
        st.success(done, icon=":material/check_circle:")
    if not uploads:
        st.session_state.pop("import_plan", None)
        return
    update = st.checkbox(
        "Apply changes to stored rows (each becomes an audited edit, as in a form)",
        key="import_update",
        help="Without this, a row whose key is stored with other values is refused and listed with both values.",
    )
    signature = (tuple((f.name, f.size) for f in uploads), update)
    if st.button("Check files", icon=":material/fact_check:"):
        check_files(uploads, signature, update)
    checked = st.session_state.get("import_plan")
    if checked and checked["signature"] == signature:
        show_plan(checked["plan"])


def show_differences(plan) -> None:
    differences = plan.differences()
    # A plain table: few enough rows to read, and each value readable in full. st.table renders its cells as
    # markdown, and they hold what the files hold.
    st.table(markdown_cells(differences.head(DIFFERENCES_SHOWN).set_index(["File", "Row"])))
    if len(differences) > DIFFERENCES_SHOWN:
        st.caption(f"The first {DIFFERENCES_SHOWN} of {len(differences):,} changed values.")


def check_files(uploads, signature: tuple, update: bool) -> None:
    st.session_state.pop("import_plan", None)
    size = sum(f.size for f in uploads) / 1_048_576
    failure = None
    with st.status(f"Checking {len(uploads)} file(s), {size:,.1f} MB…", expanded=True) as status:
        try:
            plan = service.plan_import(con, [(f.name, f.getvalue()) for f in uploads], today=ui.today(), update=update)
            status.update(label="Every row passed the checks", state="complete", expanded=False)
        except TrackerError as error:
            failure = error
            status.update(label="Problems found: nothing will be imported", state="error", expanded=False)
    # Outside the status box, which folds away: the problems are what the user needs to see.
    if isinstance(failure, ValidationError):
        show_problems(failure)
    elif failure is not None:
        ui.show_error(failure)
    else:
        st.session_state["import_plan"] = {"signature": signature, "plan": plan}


def show_plan(plan) -> None:
    st.subheader("Import plan")
    for notice in plan.notices:
        st.info(escape_markdown(notice), icon=":material/info:")  # it quotes the files' names and fields
    st.dataframe(plan.summary(), hide_index=True)
    if plan.refused:
        st.warning(
            f"**{len(plan.refused)} row(s) differ from what is stored**, so nothing can be imported as it stands. "
            "Tick *Apply changes to stored rows* and check again to apply them, or correct the files.",
            icon=":material/difference:",
        )
        show_differences(plan)
        return
    for name, table in plan.tables.items():
        label = name.replace("_", " ")
        if len(table.new):
            with st.expander(f"New rows of {label} (first {min(PREVIEW_ROWS, len(table.new))})"):
                st.dataframe(table.new.head(PREVIEW_ROWS), hide_index=True)
    if plan.update and plan.differences().shape[0]:
        st.markdown("**What will change** (each an audited edit)")
        show_differences(plan)
    new = sum(len(t.new) for t in plan.tables.values())
    changed = sum(len(t.changed) for t in plan.tables.values()) if plan.update else 0
    if not new and not changed:
        st.info("Nothing to import: every row of these files is already stored as it is.", icon=":material/check:")
        return
    words = " and ".join(w for w in (new and f"add {rows(new)}", changed and f"change {rows(changed)}") if w)
    if st.button(f"Import: {words}", type="primary", icon=":material/upload:"):
        try:
            written = service.import_as(con, viewer, plan)
        except ValidationError as error:
            show_problems(error)
            return
        except TrackerError as error:
            ui.show_error(error)
            return
        st.session_state.pop("import_plan", None)
        st.session_state["import_done"] = (
            "Imported: "
            + ", ".join(
                f"{rows(n)} {'changed in' if t.endswith(' updated') else 'added to'} "
                f"{t.removesuffix(' updated').replace('_', ' ')}"
                for t, n in written.items()
            )
            + "."
        )
        st.rerun()


def redcap_tab() -> None:
    st.markdown(
        "Collect interviews and factor ratings in **REDCap**: upload these files to a new longitudinal project "
        "(*Project Setup → Data Dictionary*, then *Define My Events* and *Designate Instruments*, and make "
        "`factor_rating` a repeating instrument). The record is the participant; each wave is an event "
        "(`baseline_arm_1`, `month_3_arm_1`, …). Import REDCap's CSV export (raw or labels) in the *Import* tab."
    )
    archive, dictionary = ui.shared(page_content.redcap_files)
    download_button(
        "REDCap data dictionary and event files (zip)",
        archive,
        file_name="redcap-project.zip",
        mime=mime(".zip"),
        icon=":material/download:",
    )
    st.dataframe(dictionary, hide_index=True, width="stretch")


def backup_tab() -> None:
    st.caption(
        "A copy of the whole database: the study, every account (with password hashes) and the audit log. "
        "Restore it with `python -m innovation_tracker restore backup.zip --db NEW.duckdb`, or into a new, empty "
        "PostgreSQL database with `--db postgresql://…` (a backup of either restores into either)."
    )
    if st.button("Prepare backup", icon=":material/backup:"):
        with st.spinner("Copying the database…"):
            st.session_state["backup_file"] = ("tracker-backup.zip", backup.backup_zip(con, viewer))
    offer("backup_file", "Download backup")


tabs = {"Export": export_tab, "Reports": report_tab}
if viewer.edits_study_data:
    tabs |= {"Import": import_tab, "REDCap": redcap_tab}
if viewer.role == AccountRole.ADMIN:
    tabs["Backup"] = backup_tab
for tab, render in zip(st.tabs(list(tabs)), tabs.values(), strict=True):
    with tab:
        render()
