from django.conf import settings
from django_q.models import Schedule

CLEANUP_SCHEDULE_NAME = "ytdlphost-cleanup"
YTDLP_UPDATE_SCHEDULE_NAME = "ytdlphost-yt-dlp-update"


def ensure_cleanup_schedule(using="default", **kwargs):
    """Create (or repair) the schedule that runs cleanup every minute. Idempotent."""
    Schedule.objects.using(using).update_or_create(
        name=CLEANUP_SCHEDULE_NAME,
        defaults={
            "func": "downloads_app.tasks.cleanup",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


def ensure_ytdlp_update_schedule(using="default", **kwargs):
    """Create (or repair) the schedule of yt-dlp's update check, every
    YTDLP_UPDATE_INTERVAL hours; remove it when YTDLP_UPDATE is off. Idempotent."""
    schedules = Schedule.objects.using(using)
    if settings.YTDLP_UPDATE == "off":
        schedules.filter(name=YTDLP_UPDATE_SCHEDULE_NAME).delete()
        return
    schedules.update_or_create(
        name=YTDLP_UPDATE_SCHEDULE_NAME,
        defaults={
            "func": "downloads_app.tasks.update_ytdlp",
            "schedule_type": Schedule.MINUTES,
            "minutes": max(1, round(settings.YTDLP_UPDATE_INTERVAL * 60)),
            "repeats": -1,
        },
    )
