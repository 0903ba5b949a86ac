from django.core.management.base import BaseCommand, CommandError

from keys_app.models import APIKey


class Command(BaseCommand):
    help = (
        "Give a key a new webhook signing secret and print it. Webhooks are signed with it "
        "from now on, retries of earlier events included."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The key's name.")

    def handle(self, *args, name, **options):
        try:
            api_key = APIKey.objects.get_by_name(name)
        except APIKey.DoesNotExist:
            raise CommandError(f"API key '{name}' not found") from None
        webhook_secret = api_key.rotate_webhook_secret()
        self.stdout.write(f"New webhook signing secret of '{api_key.name}': {webhook_secret}")
