from django.core.management.base import BaseCommand

from downloads_app import tasks


class Command(BaseCommand):
    help = (
        "Run the maintenance that the every-minute schedule runs: recover interrupted "
        "tasks, delete expired tasks and their files, sweep orphan directories, queue due "
        "webhook deliveries."
    )

    def handle(self, *args, **options):
        for name, count in tasks.cleanup().items():
            self.stdout.write(f"{name}: {count}")
