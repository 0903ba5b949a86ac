"""gunicorn's access log, with task ids cut short (gunicorn.conf.py sets it up; see
ytdlphost.logging.redact_task_ids for why)."""

from gunicorn.glogging import Logger

from ytdlphost.logging import redact_task_ids


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: redact_task_ids(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }
