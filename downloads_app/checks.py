"""System checks of downloads_app: the connection guard is in place on this yt-dlp, the
operator's YTDLP_* settings are options yt-dlp accepts (YTDLP_UPDATE: a channel, a version
or off), SITE_CONCURRENCY names sites, the library (LIBRARY_DIR, LIBRARY_TEMPLATE) can
be written, yt-dlp still defines the SponsorBlock options the `sponsorblock` request
option is read by, and the media options' post-processors exist."""

import os

from django.conf import settings
from django.core.checks import Error, Warning, register

from downloads_app import (
    connection_guard,
    naming,
    sites,
    sponsorblock,
    ytdlp_options,
    ytdlp_updates,
)


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
            id="downloads_app.E012",
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


@register()
def library_is_usable(app_configs, **kwargs):
    """LIBRARY_TEMPLATE of the safe subset, and LIBRARY_DIR a writable folder apart from
    DOWNLOAD_DIR (whose sweep removes every folder that is not a task's)."""
    problems = []
    try:
        naming.parse(settings.LIBRARY_TEMPLATE, folders=True)
    except naming.TemplateError as exc:
        problems.append(
            Error(
                f"LIBRARY_TEMPLATE {exc}",
                hint="The default: %(uploader|Unknown)s/%(upload_date>%Y-%m-%d|)s "
                "%(title)s [%(id)s].%(ext)s",
                id="downloads_app.E005",
            )
        )
    library = settings.LIBRARY_DIR
    if library is None:
        return problems
    downloads = settings.DOWNLOAD_DIR
    if library == downloads or downloads in library.parents or library in downloads.parents:
        problems.append(
            Error(
                f"LIBRARY_DIR {library} and DOWNLOAD_DIR {downloads} overlap: cleanup "
                "would remove what is placed in the library, or the library's names "
                "reach into the task folders",
                hint="Give the library a folder of its own, outside DOWNLOAD_DIR",
                id="downloads_app.E006",
            )
        )
    elif not library.is_dir() or not os.access(library, os.W_OK | os.X_OK):
        problems.append(
            Error(
                f"LIBRARY_DIR {library} is not a writable folder",
                hint="Create it, writable by the user the workers run as",
                id="downloads_app.E007",
            )
        )
    return problems


@register()
def sponsorblock_rules_are_readable(app_configs, **kwargs):
    return [
        Error(
            problem,
            hint="This yt-dlp version changed its SponsorBlock options: requests with "
            "`sponsorblock` are refused until downloads_app/sponsorblock.py reads them",
            id="downloads_app.E008",
        )
        for problem in sponsorblock.rules_problems()
    ]


# S3's smallest part but for the last (a smaller S3_MULTIPART_CHUNKSIZE fails every upload).
S3_MIN_PART = 5 * 1024 * 1024


@register()
def bucket_settings_are_valid(app_configs, **kwargs):
    """STORAGE=s3: what the bucket needs before the first upload fails on it."""
    if settings.STORAGE != "s3":
        return []
    problems = []
    if not settings.AWS_STORAGE_BUCKET_NAME:
        problems.append(Error("STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME", id="downloads_app.E009"))
    if settings.S3_MULTIPART_CHUNKSIZE < S3_MIN_PART:
        problems.append(
            Error(
                "S3_MULTIPART_CHUNKSIZE must be at least 5M: S3 refuses smaller parts",
                id="downloads_app.E010",
            )
        )
    if settings.AWS_S3_ADDRESSING_STYLE not in (None, "auto", "path", "virtual"):
        problems.append(
            Error(
                f"AWS_S3_ADDRESSING_STYLE={settings.AWS_S3_ADDRESSING_STYLE!r} is not auto, "
                "path or virtual",
                id="downloads_app.E011",
            )
        )
    return problems
