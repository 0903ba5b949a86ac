# gunicorn reads ./gunicorn.conf.py from its working directory: run.sh (scripts/serve.sh),
# the Docker entrypoint, the Procfile and the tests' LiveStack all start it from here, so
# the access log is set up once, for all of them.

# The access log on stdout, with task ids cut short (they are the secret of /files URLs).
accesslog = "-"
logger_class = "ytdlphost.access_log.AccessLogger"
