from django.conf import settings
from django_q.models import Schedule

CLEANUP_SCHEDULE_NAME = "ytdlphost-cleanup"
YTDLP_UPDATE_SCHEDULE_NAME = "ytdlphost-yt-dlp-update"


def ensure_schedule(name: str, func: str, using="default", minutes: int = 1) -> None:
    """Create (or repair) the schedule `name` that runs `func` every `minutes`. Idempotent."""
    Schedule.objects.using(using).update_or_create(
        name=name,
        defaults={
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        },
    )


def ensure_cleanup_schedule(using="default", **kwargs):
    """Create (or repair) the schedule that runs cleanup every minute."""
    ensure_schedule(CLEANUP_SCHEDULE_NAME, "downloads_app.tasks.cleanup", using)


def ensure_ytdlp_update_schedule(using="default", **kwargs):
    """Create (or repair) the schedule of yt-dlp's update check, every
    YTDLP_UPDATE_INTERVAL hours; remove it when YTDLP_UPDATE is off. Idempotent."""
    if settings.YTDLP_UPDATE == "off":
        Schedule.objects.using(using).filter(name=YTDLP_UPDATE_SCHEDULE_NAME).delete()
        return
    minutes = max(1, round(settings.YTDLP_UPDATE_INTERVAL * 60))
    ensure_schedule(YTDLP_UPDATE_SCHEDULE_NAME, "downloads_app.tasks.update_ytdlp", using, minutes)
