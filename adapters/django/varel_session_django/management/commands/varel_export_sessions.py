"""manage.py varel_export_sessions: varel_session's sessions into django_session."""

from django.core.management.base import BaseCommand

from ...moving import export_sessions


class Command(BaseCommand):
    help = ("Writes every live varel_session session into django_session under a new key, "
            "its data, log-in and expiry kept.")

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default",
                            help="the alias to run on: it must connect as the extension's owner")

    def handle(self, *args, **options):
        self.stdout.write(f"exported {export_sessions(options['database'])}")
