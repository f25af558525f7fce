"""explainer: the library behind the diffusion explainer app.

Pure functions and small classes (NumPy, PyTorch, Plotly, Pillow); nothing
here imports Streamlit except `explainer.ui`.
"""
