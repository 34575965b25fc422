"""What the pages and reports show: reads, analysis and figures put together, with no streamlit in them."""
