# ytdlphost: one image for both roles; the command picks `web` or `worker`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    DOWNLOAD_DIR=/app/downloads \
    PORT=5000

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN useradd --system --uid 1000 --home-dir /app ytdlphost \
    && mkdir -p /data /app/downloads \
    && chown -R ytdlphost /data /app/downloads
USER ytdlphost

VOLUME ["/data", "/app/downloads"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD curl -fsS -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT}/no-such-route" | grep -q 404 || exit 1

ENTRYPOINT ["docker/entrypoint.sh"]
CMD ["web"]
