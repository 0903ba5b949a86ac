# ytdlphost: one image for both roles; the command picks `web` (gunicorn on port 5000,
# the default) or `worker` (django-q2 cluster). See docker-compose.yml and docs/production.md.
# No secrets or state in the image: configure it through the
# environment (.env with docker compose); state lives in /data and the database.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    DOWNLOAD_DIR=/data/downloads \
    PORT=5000 \
    BIND=0.0.0.0 \
    YTDLP_JS_RUNTIMES=deno

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Deno, from requirements.txt, runs yt-dlp's YouTube challenge solver (the yt-dlp-ejs
# scripts that yt-dlp[default] brings): this yt-dlp needs Deno >= 2.3 or Node >= 22, and
# Debian bookworm's nodejs is 18. The `deno` package on PyPI ships the official binary.
# requirements.txt is what the service needs to run (the test tools are in
# requirements-dev.txt, which the image does not install).
COPY requirements.txt ./
RUN pip install -r requirements.txt \
    && deno --version \
    && python -c "import yt_dlp_ejs, gunicorn, django_q"

# An unprivileged user owns /data (SQLite, downloads, a generated secret_key), and only
# it may read it; the code stays root's, read-only for the service.
RUN useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin ytdlphost \
    && mkdir -p /data/downloads \
    && chown -R ytdlphost:ytdlphost /data \
    && chmod 700 /data /data/downloads

COPY . .
RUN python -m compileall -q manage.py ytdlphost keys_app downloads_app legacy_import

USER ytdlphost
EXPOSE 5000
# web: GET /healthz?skip=workers answers 200; worker: its cluster runs (the role is found
# from the running processes; docker/healthcheck.py says more).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
