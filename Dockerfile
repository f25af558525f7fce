# The diffusion explainer as a container image: one Streamlit process, port 8501.
#
#   docker build -t diffusion-explainer .
#   docker run --rm -p 8501:8501 diffusion-explainer        # then open http://localhost:8501
#
# For several replicas behind a load balancer see deploy/README.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first, from PyTorch's CPU index: the default PyPI wheel is the multi-GB CUDA build.
# (The local dev machine gets the same CPU wheel from a wheel directory on disk, via pip's
# find-links; in the image it comes from download.pytorch.org.) Then the rest of
# requirements.txt: its torch==2.13.0 pin is already satisfied, so pip leaves torch alone.
COPY requirements.txt .
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -r requirements.txt

# Only what the app needs at run time (.dockerignore keeps runs/, tests/ etc. out of the context).
COPY app.py ./
COPY app_pages/ app_pages/
COPY explainer/ explainer/
COPY assets/ assets/
COPY .streamlit/ .streamlit/

# Run as an unprivileged user; the app writes nothing to disk (uploads stay in memory).
RUN useradd --create-home --uid 10001 --user-group app
USER app

EXPOSE 8501

# No curl in the slim image: Python's urllib asks Streamlit's own health endpoint.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["streamlit", "run", "app.py", "--server.port", "8501", "--server.address", "0.0.0.0", "--server.headless", "true"]
