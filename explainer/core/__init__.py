"""Layer 1, the mathematics of diffusion: schedules, the forward process, samplers' update rules, objectives,
the 1-D bound, 2-D toy data with exact scores and particles, toy guidance, spectra.

NumPy, PyTorch and the standard library only (no Plotly, Streamlit or Pillow); imports nothing else of
`explainer`. Timesteps count from 0 (t = 0 ... T-1, see `schedules`).
"""
