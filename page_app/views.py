"""The web page at /: sign in with an API key, then everything else through the API.

Signing in and out are the only things done here rather than through the API: the key is
checked and kept in the session (keys_app.authentication.sign_in), which the API's task
endpoints then accept with the CSRF token next to X-API-Key.
"""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from downloads_app.serializers import INPUT_BY_TASK_TYPE
from keys_app.authentication import SESSION_SIGNED_OUT, session_key, sign_in, sign_out
from keys_app.models import APIKey
from page_app.security import page_headers


def type_label(task_type: str) -> str:
    """The label of a type: get_live_video is "Live video"."""
    return task_type.removeprefix("get_").replace("_", " ").capitalize()


def task_types(api_key: APIKey) -> list[dict]:
    """The task types this key may start, with the fields each endpoint takes: the page
    builds its form from this, so a new endpoint appears without touching the page."""
    offered = []
    for task_type, serializer in INPUT_BY_TASK_TYPE.items():
        if not api_key.allows(task_type.value):
            continue
        fields = serializer().fields
        output = fields.get("output_format")
        offered.append(
            {
                "type": task_type.value,
                "label": type_label(task_type.value),
                "endpoint": f"/{task_type.value}",
                "fields": [name for name in fields if name != "webhook_url"],
                "output_formats": list(output.choices) if output is not None else [],
            }
        )
    return offered


@page_headers
@require_GET
def index(request):
    api_key = session_key(request)
    if api_key is None:
        reason = request.session.pop(SESSION_SIGNED_OUT, "")
        return render(request, "page/sign_in.html", {"notice": reason})
    context = {
        "key_name": api_key.name,
        "task_types": task_types(api_key),
        "can_get_info": api_key.allows("get_info"),
    }
    return render(request, "page/index.html", context)


@page_headers
@require_POST
def sign_in_view(request):
    secret = request.POST.get("key", "").strip()
    api_key = APIKey.objects.get_by_secret(secret) if secret else None
    if api_key is None:
        error = "Enter your API key." if not secret else "This API key is not valid."
        return render(request, "page/sign_in.html", {"error": error, "key": ""}, status=400)
    sign_in(request, api_key)
    return redirect("page")


@page_headers
@require_POST
def sign_out_view(request):
    sign_out(request)
    return redirect("page")
