"""manage.py varel_import_sessions: Django's database sessions into varel_session."""

from django.core.management.base import BaseCommand
from django.utils.dateparse import parse_datetime

from ...moving import import_sessions


class Command(BaseCommand):
    help = ("Copies the live sessions of django_session into varel_session, where the first "
            "request with an old cookie claims its session under a new key "
            "(VAREL_SESSION_IMPORTED_FROM = \"django\"). Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default",
                            help="the alias to run on: it must connect as the extension's owner")
        parser.add_argument("--accept-until", type=parse_datetime, default=None,
                            help="old cookies are accepted until then (ISO 8601; default: each "
                                 "session's own expiry)")

    def handle(self, *args, **options):
        counts = import_sessions(options["database"], options["accept_until"])
        self.stdout.write("imported {imported}, skipped {skipped} (empty or not JSON), "
                          "ended {ended} (gone from django_session)".format(**counts))
