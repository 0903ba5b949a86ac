"""System checks of downloads_app: the connection guard is in place on this yt-dlp, and
the operator's YTDLP_* settings are options yt-dlp accepts (YTDLP_UPDATE: a channel, a
version or off)."""

from django.conf import settings
from django.core.checks import Error, register

from downloads_app import connection_guard, ytdlp_options, ytdlp_updates


@register()
def connection_guard_is_installed(app_configs, **kwargs):
    problems = [
        Error(
            f"yt-dlp has no {name}, which the connection guard relies on",
            hint="This yt-dlp version changed its networking internals: pin the previous "
            "one, or adapt downloads_app/connection_guard.py to it",
            id="downloads_app.E001",
        )
        for name in connection_guard.missing_internals()
    ]
    if not connection_guard.installed():
        problems.append(
            Error(
                "The connection guard is not installed: yt-dlp and ffmpeg could reach any "
                "address, and downloads are refused",
                id="downloads_app.E002",
            )
        )
    return problems


@register()
def ytdlp_settings_are_valid(app_configs, **kwargs):
    try:
        ytdlp_options.server_options()
    except ytdlp_options.ServerOptionsInvalid as exc:
        return [Error(exc.problem, id="downloads_app.E003")]
    return []


@register()
def ytdlp_update_is_valid(app_configs, **kwargs):
    try:
        ytdlp_updates.parse_setting(settings.YTDLP_UPDATE)
    except ValueError as exc:
        return [Error(str(exc), id="downloads_app.E004")]
    return []
