"""explainer: the library behind the diffusion explainer app.

Pure functions and small classes (NumPy, PyTorch, Plotly, Pillow); nothing
here imports Streamlit except the app layer, `explainer.app`.
"""

import os as _os

# Idle torch (OpenMP) threads sleep instead of spinning. On a shared 2-core server a spinning
# pool starves the other sessions: measured 23 s instead of 0.5 s for one SDEdit job under load.
# It must be set before torch is imported, and every explainer module imports torch after this.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
