"""Files in and out: the tidy contract, checking tables before anything is written, REDCap, the demo study as
tables, call lists and calendars. Pure: no database, no streamlit."""
