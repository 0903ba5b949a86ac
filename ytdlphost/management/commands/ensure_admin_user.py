from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create or update the Django admin's superuser ADMIN_USER with ADMIN_PASSWORD. "
        "Does nothing when neither is set; safe to run on every start."
    )

    def handle(self, *args, **options):
        name, password = settings.ADMIN_USER, settings.ADMIN_PASSWORD
        if not name and not password:
            return
        if not name or not password:
            raise CommandError("Set both ADMIN_USER and ADMIN_PASSWORD, or neither")
        user, created = get_user_model().objects.get_or_create(username=name)
        changed = created or not (user.is_active and user.is_staff and user.is_superuser)
        if not user.check_password(password):
            user.set_password(password)
            changed = True
        if not changed:
            self.stdout.write(f"The admin user '{name}' is up to date.")
            return
        user.is_active = user.is_staff = user.is_superuser = True
        user.save()
        verb = "Created" if created else "Updated"
        # Never the password: this goes to the log.
        self.stdout.write(f"{verb} the admin user '{name}' (password from ADMIN_PASSWORD).")
