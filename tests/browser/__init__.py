"""Real `streamlit run` servers driven by Chromium through Playwright, and the load and benchmark runs."""
