"""System checks: misconfiguration is reported by `manage.py check` (and by migrate,
which the start scripts run) with a clear message instead of a traceback."""

import os
import shutil

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def settings_are_valid(app_configs, **kwargs):
    problems = [Error(message, id="ytdlphost.E001") for message in settings.SETTINGS_ERRORS]
    for key in settings.KEY_ENCRYPTION_KEYS:
        try:
            Fernet(key.encode())
        except ValueError:
            problems.append(
                Error(
                    "KEY_ENCRYPTION_KEYS holds a value that is not a Fernet key",
                    hint="Generate one with: python -c 'from cryptography.fernet import "
                    "Fernet; print(Fernet.generate_key().decode())'",
                    id="ytdlphost.E002",
                )
            )
    if not os.access(settings.DOWNLOAD_DIR, os.W_OK):
        problems.append(
            Error(f"DOWNLOAD_DIR {settings.DOWNLOAD_DIR} is not writable", id="ytdlphost.E003")
        )
    if shutil.which("ffmpeg") is None:
        problems.append(
            Warning(
                "ffmpeg is not on PATH: merging, conversion, clips and live recording fail",
                hint="apt-get install ffmpeg",
                id="ytdlphost.W002",
            )
        )
    for name in ("EXTRACTION_TIMEOUT", "STALL_TIMEOUT"):
        if getattr(settings, name) >= settings.TASK_TIME_LIMIT:
            problems.append(
                Error(
                    f"{name} must be shorter than TASK_TIME_LIMIT, or it never applies",
                    id="ytdlphost.E006",
                )
            )
    return problems


@register()
def networks_are_valid(app_configs, **kwargs):
    import ipaddress

    problems = []
    for network in settings.ALLOWED_PRIVATE_NETWORKS:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            problems.append(
                Error(
                    f"ALLOWED_PRIVATE_NETWORKS holds {network!r}, which is not a network",
                    hint="Use CIDR notation, e.g. 192.168.1.0/24,10.0.0.5/32",
                    id="ytdlphost.E004",
                )
            )
    if settings.LIVE_MAX_DURATION >= settings.TASK_TIME_LIMIT:
        problems.append(
            Error(
                "LIVE_MAX_DURATION must be shorter than TASK_TIME_LIMIT, or a long live "
                "recording is stopped as over time",
                id="ytdlphost.E005",
            )
        )
    return problems


@register()
def slow_client_deadlines_apply(app_configs, **kwargs):
    from ytdlphost import slow_clients

    return [
        Error(
            f"uvicorn has no {name}, which the slow-client deadlines rely on",
            hint="This uvicorn version changed its protocol's internals: pin the previous "
            "one, or adapt ytdlphost/slow_clients.py to it",
            id="ytdlphost.E007",
        )
        for name in slow_clients.missing_internals()
    ]
