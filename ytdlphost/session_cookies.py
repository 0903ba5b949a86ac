"""What every response that carries a session gets (the web page's sign-in):

- never cached: a shared cache must not hand one person's page or task list to another,
  and a browser must not show a signed-out person's page from its cache;
- the session and CSRF cookies marked Secure when the request came over HTTPS (directly,
  or through a proxy named by SECURE_PROXY_SSL_HEADER), so they never travel in clear
  afterwards, while a plain-HTTP deployment on a LAN still works. Both are HttpOnly
  (session) and SameSite=Lax by Django's defaults.

Listed before SessionMiddleware, so it sees the response after the cookie is set.
"""

from django.conf import settings
from django.utils.cache import add_never_cache_headers


class SessionCookieMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        carries_session = settings.SESSION_COOKIE_NAME in response.cookies or (
            session is not None and session.accessed
        )
        if carries_session:
            add_never_cache_headers(response)
        if request.is_secure():
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                if name in response.cookies:
                    response.cookies[name]["secure"] = True
        return response
