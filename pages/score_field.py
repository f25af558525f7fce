import streamlit as st
from explainer import ui

ui.page_setup()

st.title("score_field")
st.info("This page is being built.")
