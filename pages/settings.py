"""Study settings: the study's details, its codebook, indicator set and waves, changed as the evaluation goes.
Every change is audited; codes never change, and a factor or indicator with data is retired, not deleted."""

import pandas as pd
import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.app import study_settings
from innovation_tracker.domain.model import FactorKind, IndicatorType, Mode, label_of
from innovation_tracker.ui import forms

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

st.title("Study settings")
con, viewer = ui.connection(), ui.viewer()
ui.demo_banner(con)
forms.show_flash()
study = forms.require_study(con)
st.caption(
    "Changes apply at once to every page and are recorded in the audit log. Codes are fixed once chosen; a factor"
    " or indicator is retired rather than deleted, so what was recorded with it stays."
)
# Only the open tab is drawn: the four together took a rerun four times the empty page's.
study_tab, codebook_tab, indicators_tab, waves_tab = st.tabs(
    ["Study", "Codebook", "Indicators", "Waves"], key="settings:tab", on_change="rerun"
)

if study_tab.open:
    with study_tab, st.form("study"):
        name = st.text_input("Name", value=study.name, key="study:name", max_chars=ui.max_chars("name", study.name))
        forms.field_errors("study", "name")
        funder = st.text_input(
            "Funder", value=study.funder or "", key="study:funder", max_chars=ui.max_chars("funder", study.funder)
        )
        forms.field_errors("study", "funder")
        left, right = st.columns(2)
        start = left.date_input("Start", value=study.start_date, format="DD/MM/YYYY", key="study:start_date")
        forms.field_errors("study", "start_date")
        end = right.date_input("End", value=study.end_date, format="DD/MM/YYYY", key="study:end_date")
        forms.field_errors("study", "end_date")
        forms.other_errors("study", ["name", "funder", "start_date", "end_date"])
        if st.form_submit_button("Save the study's details", type="primary"):
            forms.save(
                "study",
                lambda: study_settings.change_study(
                    con, viewer, name=name, funder=funder, start_date=start, end_date=end
                ),
                "Study details saved",
            )

if codebook_tab.open:
    with codebook_tab:
        factors = ui.reference(storage.list_factors)
        st.dataframe(
            pd.DataFrame(
                {
                    "Code": [f.factor_code for f in factors],
                    "Domain": [label_of(f.domain) for f in factors],
                    "Kind": [label_of(f.kind) for f in factors],
                    "Label": [f.label for f in factors],
                    "Definition": [f.description or "—" for f in factors],
                    "Status": ["retired" if f.retired else "in use" for f in factors],
                }
            ),
            hide_index=True,
            width="stretch",
        )
        st.subheader("Change a factor")
        by_code = {f.factor_code: f for f in factors}
        if by_code:
            code = st.selectbox(
                "Factor", list(by_code), format_func=lambda c: f"{by_code[c].label} ({c})", key="factor:pick"
            )
            chosen = by_code[code]
            form = f"factor-{code}"  # the form's widgets belong to the factor picked, so they show its values
            with st.form(form):
                label = st.text_input(
                    "Label", value=chosen.label, key=f"{form}:label", max_chars=ui.max_chars("label", chosen.label)
                )
                forms.field_errors(form, "label")
                definition = st.text_area(
                    "Definition",
                    value=chosen.description,
                    key=f"{form}:description",
                    max_chars=ui.max_chars("description", chosen.description),
                )
                forms.field_errors(form, "description")
                forms.other_errors(form, ["label", "description"])
                save, retire = st.columns(2)
                if save.form_submit_button("Save the label and definition", type="primary"):
                    forms.save(
                        form,
                        lambda: study_settings.edit_factor(con, viewer, code, label=label, description=definition),
                        f"{chosen.label} saved",
                    )
                if retire.form_submit_button("Bring back into use" if chosen.retired else "Retire"):
                    forms.save(
                        form,
                        lambda: study_settings.retire_factor(con, viewer, code, not chosen.retired),
                        f"{chosen.label} {'back in use' if chosen.retired else 'retired: its ratings stay'}",
                    )
        st.subheader("Add a factor")
        with st.form("new_factor"):
            left, right = st.columns(2)
            new_code = left.text_input(
                "Code",
                help="lower-case letters, digits and _, e.g. ctx_peer_network",
                max_chars=ui.max_chars("factor_code"),
            )
            forms.field_errors("new_factor", "code")
            domains = list(dict.fromkeys(f.domain for f in factors))
            domain = right.selectbox("Domain", domains or ["context"], format_func=label_of, accept_new_options=True)
            forms.field_errors("new_factor", "domain")
            kind = left.selectbox("Kind", [k.value for k in FactorKind], format_func=label_of)
            new_label = right.text_input("Label", max_chars=ui.max_chars("label"))
            forms.field_errors("new_factor", "label")
            new_definition = st.text_area(
                "Definition", help="what coders should look for", max_chars=ui.max_chars("description")
            )
            forms.field_errors("new_factor", "description")
            forms.other_errors("new_factor", ["code", "domain", "label", "description"])
            if st.form_submit_button("Add the factor", type="primary"):
                forms.save(
                    "new_factor",
                    lambda: study_settings.add_factor(
                        con,
                        viewer,
                        code=new_code,
                        domain=domain,
                        kind=kind,
                        label=new_label,
                        description=new_definition,
                    ),
                    "Factor added",
                )

if indicators_tab.open:
    with indicators_tab:
        indicators = ui.reference(storage.list_indicators)
        st.dataframe(
            pd.DataFrame(
                {
                    "Code": [i.indicator_code for i in indicators],
                    "Label": [i.label for i in indicators],
                    "Type": [label_of(i.value_type) for i in indicators],
                    "Scale": [
                        f"{i.min_value}–{i.max_value}" if i.min_value is not None and i.max_value is not None else "—"
                        for i in indicators
                    ],
                    "Better": [i.better for i in indicators],
                    "Description": [i.description or "—" for i in indicators],
                    "Status": ["retired" if i.retired else "in use" for i in indicators],
                }
            ),
            hide_index=True,
            width="stretch",
        )
        by_indicator = {i.indicator_code: i for i in indicators}
        if by_indicator:
            st.subheader("Change an indicator")
            code = st.selectbox(
                "Indicator", list(by_indicator), format_func=lambda c: by_indicator[c].label, key="indicator:pick"
            )
            chosen_indicator = by_indicator[code]
            form = f"indicator-{code}"
            with st.form(form):
                label = st.text_input(
                    "Label",
                    value=chosen_indicator.label,
                    key=f"{form}:label",
                    max_chars=ui.max_chars("label", chosen_indicator.label),
                )
                forms.field_errors(form, "label")
                description = st.text_area(
                    "Description",
                    value=chosen_indicator.description,
                    key=f"{form}:description",
                    max_chars=ui.max_chars("description", chosen_indicator.description),
                )
                forms.field_errors(form, "description")
                forms.other_errors(form, ["label", "description"])
                save, retire = st.columns(2)
                if save.form_submit_button("Save the label and description", type="primary"):
                    forms.save(
                        form,
                        lambda: study_settings.edit_indicator(con, viewer, code, label=label, description=description),
                        f"{chosen_indicator.label} saved",
                    )
                if retire.form_submit_button("Bring back into use" if chosen_indicator.retired else "Retire"):
                    forms.save(
                        form,
                        lambda: study_settings.retire_indicator(con, viewer, code, not chosen_indicator.retired),
                        f"{chosen_indicator.label} {'back in use' if chosen_indicator.retired else 'retired'}",
                    )
        st.subheader("Add an indicator")
        with st.form("new_indicator"):
            left, right = st.columns(2)
            new_code = left.text_input(
                "Code", help="lower-case letters, digits and _", max_chars=ui.max_chars("indicator_code")
            )
            forms.field_errors("new_indicator", "code")
            new_label = right.text_input("Label", max_chars=ui.max_chars("label"))
            forms.field_errors("new_indicator", "label")
            value_type = left.selectbox("Type", [t.value for t in IndicatorType], format_func=label_of)
            better = right.selectbox("Better", ["higher", "lower"])
            low = left.number_input("Lowest value (ordinal)", value=1, step=1)
            high = right.number_input("Highest value (ordinal)", value=5, step=1)
            forms.field_errors("new_indicator", "max_value")
            new_description = st.text_area(
                "What each value means",
                help="e.g. 1 none … 5 strong at all levels",
                max_chars=ui.max_chars("description"),
            )
            forms.field_errors("new_indicator", "description")
            forms.other_errors("new_indicator", ["code", "label", "max_value", "description"])
            if st.form_submit_button("Add the indicator", type="primary"):
                forms.save(
                    "new_indicator",
                    lambda: study_settings.add_indicator(
                        con,
                        viewer,
                        code=new_code,
                        label=new_label,
                        value_type=value_type,
                        min_value=int(low),
                        max_value=int(high),
                        better=better,
                        description=new_description,
                    ),
                    "Indicator added",
                )

if waves_tab.open:
    with waves_tab:
        waves = ui.reference(storage.list_waves)
        st.dataframe(
            pd.DataFrame(
                {
                    "Code": [w.wave for w in waves],
                    "Label": [w.label for w in waves],
                    "Days after baseline": [w.offset_days for w in waves],
                    "Window": [f"−{w.window_before_days} / +{w.window_after_days} days" for w in waves],
                    "Default mode": [label_of(w.default_mode) for w in waves],
                }
            ),
            hide_index=True,
            width="stretch",
        )
        st.caption(
            "Due dates follow each participant's baseline interview; changing a wave moves every schedule at once."
            " A change that would leave a stored interview outside every window of its participant is refused."
        )
        by_wave = {w.wave: w for w in waves}
        modes = [m.value for m in Mode]
        if by_wave:
            st.subheader("Re-time a wave")
            code = st.selectbox("Wave", list(by_wave), format_func=lambda c: by_wave[c].label, key="wave:pick")
            wave = by_wave[code]
            form = f"wave-{code}"
            with st.form(form):
                label = st.text_input(
                    "Label", value=wave.label, key=f"{form}:label", max_chars=ui.max_chars("label", wave.label)
                )
                forms.field_errors(form, "label")
                cols = st.columns(3)
                offset = cols[0].number_input("Days after baseline", 0, 3650, wave.offset_days, key=f"{form}:offset")
                before = cols[1].number_input(
                    "Window opens, days before", 0, 365, wave.window_before_days, key=f"{form}:b"
                )
                after = cols[2].number_input(
                    "Window closes, days after", 0, 365, wave.window_after_days, key=f"{form}:a"
                )
                forms.field_errors(form, "offset_days")
                mode = st.selectbox(
                    "Default mode", modes, modes.index(wave.default_mode), format_func=label_of, key=f"{form}:m"
                )
                forms.other_errors(form, ["label", "offset_days"])
                if st.form_submit_button("Save the wave", type="primary"):
                    forms.save(
                        form,
                        lambda: study_settings.retime_wave(
                            con, viewer, code, label=label, offset=int(offset), before=int(before), after=int(after),
                            mode=mode,
                        ),
                        f"{label} saved: schedules follow",
                    )  # fmt: skip
        st.subheader("Add a wave")
        with st.form("new_wave"):
            cols = st.columns(3)
            new_code = cols[0].text_input("Code", help="e.g. month_18", max_chars=ui.max_chars("wave"))
            forms.field_errors("new_wave", "code")
            new_label = cols[1].text_input("Label", placeholder="18-month follow-up", max_chars=ui.max_chars("label"))
            forms.field_errors("new_wave", "label")
            new_mode = cols[2].selectbox("Default mode", modes, index=modes.index("telephone"), format_func=label_of)
            cols = st.columns(3)
            last = max((w.offset_days for w in waves), default=0)
            new_offset = cols[0].number_input("Days after baseline", 0, 3650, last + 91)
            new_before = cols[1].number_input("Window opens, days before", 0, 365, 21)
            new_after = cols[2].number_input("Window closes, days after", 0, 365, 21)
            forms.field_errors("new_wave", "offset_days")
            forms.other_errors("new_wave", ["code", "label", "offset_days"])
            if st.form_submit_button("Add the wave", type="primary"):
                forms.save(
                    "new_wave",
                    lambda: study_settings.add_wave(
                        con, viewer, code=new_code, label=new_label, offset=int(new_offset), before=int(new_before),
                        after=int(new_after), mode=new_mode,
                    ),
                    "Wave added: schedules follow",
                )  # fmt: skip
