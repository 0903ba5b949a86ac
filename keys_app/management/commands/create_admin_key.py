from django.core.management.base import BaseCommand, CommandError

from keys_app.models import MIN_SECRET_LENGTH, PERMISSIONS, APIKey, normalize_key_name


class Command(BaseCommand):
    help = (
        "Create an API key holding every permission, with no request limit unless "
        "--request-limit is given, and print its secret as the last line. An existing name "
        "is reported and left unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", default="admin", help="key name (default: admin)")
        parser.add_argument("--key", default=None, help="use this secret instead of a new one")
        parser.add_argument(
            "--request-limit",
            type=int,
            default=0,
            help="task-creating requests per TASK_CLEANUP_TIME window (default: 0, no limit)",
        )
        parser.add_argument(
            "--quota-bytes",
            type=int,
            default=0,
            help="bytes its tasks may download per QUOTA_WINDOW (default: 0, no quota)",
        )

    def handle(self, *args, name, key, request_limit, quota_bytes, **options):
        if key is not None and len(key) < MIN_SECRET_LENGTH:
            raise CommandError(f"--key must be at least {MIN_SECRET_LENGTH} characters long")
        if request_limit < 0:
            raise CommandError("--request-limit must be 0 (no limit) or more")
        if quota_bytes < 0:
            raise CommandError("--quota-bytes must be 0 (no quota) or more")
        existing = APIKey.objects.filter(normalized_name=normalize_key_name(name)).first()
        if existing is not None:
            self.stderr.write(f"API key '{existing.name}' already exists; left unchanged.")
            return
        _, secret = APIKey.objects.create_key(
            name, PERMISSIONS, secret=key, request_limit=request_limit, quota_bytes=quota_bytes
        )
        self.stdout.write(f"Created API key '{name}' with all permissions. Its secret:")
        self.stdout.write(secret)
