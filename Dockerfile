# The CIFAKE demo as a small, torch-free serving image: gradio + onnxruntime + the model shipped in
# cifake_nb/assets/default/. Non-root; binds 0.0.0.0:$PORT (Cloud Run sets PORT; default 7860).
#   docker build -t cifake-demo .
#   docker run --rm -p 7860:7860 cifake-demo        # then http://127.0.0.1:7860, /healthz
# Like cifake-demo it serves the model's int8 sibling (cifake_nb/assets/default/int8/) on a CPU with VNNI, float32 elsewhere;
#   -e CIFAKE_PRECISION=int8 or -e CIFAKE_PRECISION=float32 chooses.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_OFFLINE=1 \
    PORT=7860 \
    CIFAKE_LOG_DB=/home/app/logs/predictions.sqlite

RUN groupadd --gid 10001 app && useradd --uid 10001 --gid 10001 --create-home app
WORKDIR /home/app

COPY requirements-serve.txt .
RUN pip install --no-cache-dir -r requirements-serve.txt

COPY --chown=10001:10001 cifake_nb/ ./cifake_nb/

USER 10001:10001
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '7860'), timeout=4)"]
CMD ["python", "-c", "from cifake_nb.app import main; main()"]
