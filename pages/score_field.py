import streamlit as st

st.title("score_field")
st.info("This page is being built.")
