"""Layer 3, what a page shows, built without Streamlit: Plotly figures, frame sets for the browser scrubber,
pictures, the sampler registry with its filled-in equations, sentences with computed numbers, further reading.
Imports `explainer.models` and `explainer.core` (and Plotly, Pillow), never Streamlit."""
