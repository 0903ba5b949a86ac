"""The headers of the page's own responses.

The policy allows this origin only: the page's script and style are files served here
(no inline script or style, no CDN), it talks to this API only, its images are this
origin's (a task's thumbnail is one of its files), its manifest and service worker are
served here, and it may not be framed.
"""

from functools import wraps

from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        # The installable app (page_app/app.py): its manifest and its service worker.
        "manifest-src 'self'",
        "worker-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


def page_headers(view):
    """Content-Security-Policy, X-Frame-Options: DENY, never cached (the page carries the
    session), and no referrer (with task ids) sent to the sites a link leads to."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["Referrer-Policy"] = "same-origin"
        return response

    return never_cache(xframe_options_deny(wrapped))
