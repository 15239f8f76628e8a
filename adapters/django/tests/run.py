"""Runs the Django adapter's tests against a real PostgreSQL with the extension.

    VAREL_DJANGO_DSN="host=... port=... dbname=... user=postgres" python tests/run.py

The database must have the extension installed; scripts/test.sh creates one per run. The
tests use plain unittest (no Django test database), because they are about what other
connections see: concurrent requests, a log-out on another device.
"""

import os
import sys
import unittest

import django
from django.conf import settings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def database_settings():
    params = dict(part.split("=", 1) for part in os.environ["VAREL_DJANGO_DSN"].split())
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params["dbname"],
        "HOST": params.get("host", ""),
        "PORT": params.get("port", ""),
        "USER": params.get("user", "postgres"),
    }


settings.configure(
    DATABASES={"default": database_settings()},
    SESSION_ENGINE="varel_session_django.backend",
    SESSION_COOKIE_AGE=1209600,
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
    ROOT_URLCONF="tests.app",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    SECRET_KEY="not secret: tests only",
    USE_TZ=True,
)
django.setup()

if __name__ == "__main__":
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=os.path.dirname(HERE))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
