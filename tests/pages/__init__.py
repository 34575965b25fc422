"""Streamlit pages through AppTest: every page, every role, what it shows."""
