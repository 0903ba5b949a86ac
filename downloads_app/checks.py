"""System checks of downloads_app: the connection guard is in place on this yt-dlp, the
operator's YTDLP_* settings are options yt-dlp accepts (YTDLP_UPDATE: a channel, a version
or off), the media options' post-processors exist, and SITE_CONCURRENCY names sites."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from downloads_app import connection_guard, sites, ytdlp_options, ytdlp_updates


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
def media_postprocessors_exist(app_configs, **kwargs):
    return [
        Error(
            f"yt-dlp has no {key} post-processor, which the media options run",
            hint="This yt-dlp version renamed or removed it: pin the previous one, or "
            "adapt downloads_app/media_options.py to it",
            id="downloads_app.E005",
        )
        for key in ytdlp_options.missing_postprocessors()
    ]


@register()
def site_caps_name_sites(app_configs, **kwargs):
    return [
        Warning(
            f"SITE_CONCURRENCY names {name}, a public suffix under which every name is a "
            "site of its own: its cap applies to no task",
            hint="Name the site (a registrable domain such as youtube.com or bbc.co.uk), "
            "or use * for every site",
            id="downloads_app.W001",
        )
        for name in sites.suffixes_named(settings.SITE_CONCURRENCY)
    ]


@register()
def ytdlp_update_is_valid(app_configs, **kwargs):
    try:
        ytdlp_updates.parse_setting(settings.YTDLP_UPDATE)
    except ValueError as exc:
        return [Error(str(exc), id="downloads_app.E004")]
    return []
