from django.core.management.base import BaseCommand, CommandError

from downloads_app import ytdlp_updates


class Command(BaseCommand):
    help = (
        "Update this host's yt-dlp now, as YTDLP_UPDATE asks (stable when it is off), or to "
        "--version; the new version must pass the canary before it becomes current. "
        "--rollback makes the previous version current again. Exits non-zero, naming the "
        "failure, when nothing changed because of one."
    )

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--version", dest="wanted", help="This version, even below the image's own."
        )
        action.add_argument(
            "--rollback", action="store_true", help="Back to the previous current version."
        )

    def handle(self, *args, wanted=None, rollback=False, **options):
        try:
            result = ytdlp_updates.rollback() if rollback else ytdlp_updates.update(wanted)
        except ytdlp_updates.UpdateFailed as exc:
            raise CommandError(str(exc)) from None
        line = f"{result.kind}: yt-dlp {result.version}" + (
            f": {result.reason}" if result.reason else ""
        )
        if result.failed:
            raise CommandError(line)
        self.stdout.write(line)

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Our --version (a yt-dlp version) replaces Django's (the command's own version).
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)
