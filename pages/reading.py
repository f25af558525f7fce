import streamlit as st

st.title("reading")
st.info("This page is being built.")
