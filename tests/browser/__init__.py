"""End-to-end tests of the Streamlit app in headless Chromium (see conftest.py)."""
