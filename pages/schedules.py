import streamlit as st

st.title("schedules")
st.info("This page is being built.")
