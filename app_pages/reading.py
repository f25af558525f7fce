"""Further reading: ten classic introductions, each tied to the page of the app that illustrates it."""
import streamlit as st

from explainer.app.shell import controls, page_setup
from explainer.app.url_state import choice_param, url_state, write_url
from explainer.lessons.reading import KINDS, READINGS, by_kind

page_setup()

# The lesson pages' titles, as registered in app.py.
PAGE_LABELS = {
    "forward": "1. Forward process",
    "schedules": "2. Noise schedules",
    "learning": "3. Learning to denoise",
    "score": "4. Score field (2D)",
    "reverse": "5. Reverse sampling",
}
PAGE_ICONS = {
    "forward": ":material/blur_on:",
    "schedules": ":material/show_chart:",
    "learning": ":material/school:",
    "score": ":material/scatter_plot:",
    "reverse": ":material/auto_fix_high:",
}
KIND_ICONS = {"video": ":material/smart_display:", "blog post": ":material/article:",
              "paper": ":material/description:"}
KIND_LABELS = {"video": "Videos", "blog post": "Blog posts", "paper": "Papers"}
ALL = "All"

st.title("Further reading")
st.markdown("Ten classic introductions to diffusion models, in the order of the lesson, each with "
            "the page of this app that illustrates it and how its notation maps onto the app's.")

url_state("reading_kind", ALL, choice_param((ALL,) + KINDS))
with controls("Filter"):
    st.segmented_control("Show", (ALL,) + KINDS, key="reading_kind", required=True,
                         format_func=lambda k: KIND_LABELS.get(k, k))
write_url("reading_kind")

kind = st.session_state["reading_kind"]
shown = by_kind(() if kind == ALL else (kind,))
st.caption(f"Showing {len(shown)} of {len(READINGS)}.")

for r in shown:
    with st.container(border=True):
        st.markdown(f"#### [{r.title}]({r.url})")
        st.markdown(f"{KIND_ICONS[r.kind]} {r.author} · {r.kind}")
        st.markdown(r.summary)
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown("Illustrated in the app: ", width="content")
            st.page_link(r.page_file, label=PAGE_LABELS[r.app_page], icon=PAGE_ICONS[r.app_page])
        st.caption(f"**In this app's notation:** {r.notation}")
