import streamlit as st

st.title("reverse")
st.info("This page is being built.")
