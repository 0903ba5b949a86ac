"""The project's own exceptions: a service's refusal, in words for whoever asked.

Services raise these, never DRF's exceptions: views call them, and so do the admin, the
workers and the import of yt-dlp-host's data (legacy_import), which answer no HTTP request.
ytdlphost/errors.py turns each into an HTTP answer (STATUS_OF), in that one place.
"""


class ServiceError(Exception):
    """A refusal; its message is the whole sentence shown to the client or the admin."""


class NotFound(ServiceError):
    pass


class NotPermitted(ServiceError):
    pass


class Conflict(ServiceError):
    """The thing is not in a state that allows this (a task finished already)."""


class Invalid(ServiceError):
    """A request's field has a value the service refuses, said as `field: message`."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class LimitReached(ServiceError):
    """A limit of the caller is used up; it may try again in `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
