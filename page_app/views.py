"""The web page at /: sign in with an API key, then everything else through the API.

Signing in and out are the only things done here rather than through the API: the key is
checked and kept in the session (keys_app.authentication.sign_in), which the API's task
endpoints then accept with the CSRF token next to X-API-Key.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from downloads_app.models import PLAYLIST_CHILD_TYPES
from downloads_app.serializers import INPUT_BY_TASK_TYPE, GetPlaylistInput
from keys_app import login_throttle
from keys_app.authentication import SESSION_SIGNED_OUT, session_key, sign_in, sign_out
from keys_app.models import APIKey
from page_app.app import shared_url
from page_app.security import page_headers
from subscriptions_app.models import SUBSCRIPTION_TASK_TYPES


def type_label(task_type: str) -> str:
    """The label of a type: get_live_video is "Live video"."""
    return task_type.removeprefix("get_").replace("_", " ").capitalize()


def offered_type(task_type: str, serializer) -> dict:
    """A type as the page's form needs it: its endpoint, and the fields it takes."""
    fields = serializer().fields
    output = fields.get("output_format")
    return {
        "type": task_type,
        "label": type_label(task_type),
        "endpoint": f"/{task_type}",
        "fields": [name for name in fields if name != "webhook_url"],
        "output_formats": list(output.choices) if output is not None else [],
    }


def task_types(api_key: APIKey) -> list[dict]:
    """The task types this key may start, with the fields each endpoint takes: the page
    builds its form from this, so a new endpoint appears without touching the page.

    A playlist is offered when the key may start one of the types its entries can be
    (get_playlist needs the permission of its entries' type, not one of its own), with
    those types as its `entry_types`: the form takes the chosen one's quality and output
    formats from that type's own entry."""
    offered = [
        offered_type(task_type.value, serializer)
        for task_type, serializer in INPUT_BY_TASK_TYPE.items()
        if api_key.allows(task_type.value)
    ]
    entry_types = [
        {"value": kind, "type": child.value, "label": type_label(child.value)}
        for kind, child in PLAYLIST_CHILD_TYPES.items()
        if api_key.allows(child.value)
    ]
    if entry_types:
        playlist = offered_type(GetPlaylistInput.task_type.value, GetPlaylistInput)
        playlist["output_formats"] = []  # those of the entries' type
        playlist["entry_types"] = entry_types
        offered.append(playlist)
    return offered


# What the Subscriptions section offers to check every (seconds, label); those below
# SUBSCRIPTION_MIN_INTERVAL are left out.
SUBSCRIPTION_INTERVALS = (
    (900, "15 minutes"), (3600, "hour"), (6 * 3600, "6 hours"), (86400, "day"),
    (7 * 86400, "week"),
)  # fmt: skip


def subscription_options(api_key: APIKey) -> dict | None:
    """What the Subscriptions section offers this key: the task types it may subscribe
    with and the intervals; None when it may not subscribe (no section)."""
    types = [
        {"type": task_type.value, "label": type_label(task_type.value)}
        for task_type in SUBSCRIPTION_TASK_TYPES
        if api_key.allows(task_type.value)
    ]
    if not api_key.allows("subscribe") or not types:
        return None
    intervals = [
        {"seconds": seconds, "label": label}
        for seconds, label in SUBSCRIPTION_INTERVALS
        if seconds >= settings.SUBSCRIPTION_MIN_INTERVAL
    ]
    default = settings.SUBSCRIPTION_DEFAULT_INTERVAL
    if default not in [option["seconds"] for option in intervals]:
        intervals.append({"seconds": default, "label": f"{default} seconds"})
    return {"types": types, "intervals": intervals, "default_interval": default}


def docs_page(name: str) -> str:
    """The address of a document of docs/ under DOCS_URL; "" when it is not set."""
    return f"{settings.DOCS_URL.rstrip('/')}/{name}" if settings.DOCS_URL else ""


@page_headers
@require_GET
def index(request):
    api_key = session_key(request)
    # A link shared to the installed app, or sent by the bookmarklet: in the URL field,
    # and kept through signing in (a hidden field of the sign-in form).
    shared = shared_url(request.GET)
    if api_key is None:
        reason = request.session.pop(SESSION_SIGNED_OUT, "")
        return render(request, "page/sign_in.html", {"notice": reason, "shared_url": shared})
    context = {
        "shared_url": shared,
        "key_name": api_key.name,
        "task_types": task_types(api_key),
        "can_get_info": api_key.allows("get_info"),
        "playlist_max_items": settings.PLAYLIST_MAX_ITEMS,
        "docs_url": settings.DOCS_URL,  # where the remedies of failed tasks link (remedies.js)
        "shortcuts_url": docs_page("shortcuts.md"),  # how a phone sends links without the page
        "subscription_options": subscription_options(api_key),
    }
    return render(request, "page/index.html", context)


def sign_in_page(request, error: str, status: int):
    context = {"error": error, "key": "", "shared_url": shared_url(request.POST)}
    return render(request, "page/sign_in.html", context, status=status)


def page_with(shared: str):
    """The page, with a shared link to fill in (its query, which the page then drops)."""
    if not shared:
        return redirect("page")
    return redirect(f"{reverse('page')}?{urlencode({'url': shared})}")


@page_headers
@require_POST
def sign_in_view(request):
    secret = request.POST.get("key", "").strip()
    if not secret:
        return sign_in_page(request, "Enter your API key.", 400)
    # Guessing keys here is throttled as guessing admin passwords is (by address: a key
    # has no username), and counted in the same table.
    try:
        attempt = login_throttle.begin_attempt("", request.META.get("REMOTE_ADDR", ""), "key")
    except login_throttle.LoginThrottled as refused:
        return sign_in_page(request, refused.message, 429)
    api_key = APIKey.objects.get_by_secret(secret)
    if api_key is None:
        return sign_in_page(request, "This API key is not valid.", 400)
    login_throttle.attempt_succeeded(attempt)
    sign_in(request, api_key)
    return page_with(shared_url(request.POST))


@page_headers
@require_POST
def sign_out_view(request):
    sign_out(request)
    return redirect("page")
