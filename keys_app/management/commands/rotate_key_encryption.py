from django.core.management.base import BaseCommand
from django.db import transaction

from keys_app import crypto
from keys_app.models import APIKey


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored key secret and webhook signing secret with the first of "
        "KEY_ENCRYPTION_KEYS."
    )

    def handle(self, *args, **options):
        rotated, unreadable = 0, []
        with transaction.atomic():
            for api_key in APIKey.objects.select_for_update():
                if api_key.secret is None:
                    unreadable.append(api_key.name)
                    continue
                api_key.key_encrypted = crypto.reencrypt_secret(api_key.key_encrypted)
                fields = ["key_encrypted"]
                # An unreadable signing secret is for rotate_webhook_secret to replace.
                if api_key.webhook_secret is not None:
                    api_key.webhook_secret_encrypted = crypto.reencrypt_secret(
                        api_key.webhook_secret_encrypted
                    )
                    fields.append("webhook_secret_encrypted")
                api_key.save(update_fields=fields)
                rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} key(s).")
        if unreadable:
            self.stderr.write(
                "No configured encryption key opens these (they still authenticate, "
                f"but /get_key cannot show them): {', '.join(unreadable)}"
            )
