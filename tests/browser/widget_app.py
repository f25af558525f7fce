"""A tiny Streamlit app with one widget of each kind the helpers drive.

Served by the `widget_app_server` fixture for `test_helpers.py`, which checks
that the helpers in `helpers.py` work against the real Streamlit frontend.
It is not part of the explainer app.
"""
import time

import streamlit as st

st.title("Widget test app")

steps = st.slider("Steps", min_value=0, max_value=1000, value=100, step=10)
st.write(f"steps={steps}")

beta = st.slider("Beta", min_value=0.0, max_value=1.0, value=0.5, step=0.05)
st.write(f"beta={beta:.2f}")

fruit = st.selectbox("Fruit", ["apple", "banana", "cherry"])
st.write(f"fruit={fruit}")

up = st.file_uploader("Upload a file", type=["txt"])
st.write(f"uploaded={up.getvalue().decode() if up is not None else None}")

if st.button("Slow button"):
    time.sleep(1.5)
    st.write("slow=done")

st.download_button("Download data", data="hello,world\n", file_name="data.csv", mime="text/csv")

if st.button("Boom"):
    raise RuntimeError("boom from the widget app")
