"""The app layer: the only package of the library that imports Streamlit.

Pages (app_pages/) and app.py import these modules; nothing below this layer, and no command-line
tool, imports them. One idea per module:

- shell: page config, the sidebar's settings, presenter mode, figures, errors as messages
- url_state: controls mirrored in the page address, and the parsers of a link's values
- safe_text: text from outside (links, file names, errors) shown literally
- resources: schedules, models, noise and digits loaded once per process
- caches: results shared by every session (`shared`, `cached_run`, `page_run`)
- compute, fair_queue: heavy work waits its turn, shortest first, one job per session
- scrubber: the slider over precomputed frames that moves in the browser (static/)
- pickers: a sample image or an upload, decoded safely; a digit from a picture
- noising, sampling_runs, training_runs: what the chapters build, cached across sessions
"""

# compute sets torch's thread count for this process (jobs at once x threads per job = cores): it must
# hold for any page's torch work, not only for the work that goes through the queue.
from . import compute as _compute  # noqa: F401
