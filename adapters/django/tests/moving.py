"""Moving a live Django app from the database backend to varel_session and back, nobody logged out.

    VAREL_DJANGO_DSN="host=... port=... dbname=... user=postgres" python tests/moving.py

A real app with django.contrib.auth and sessions on ``backends.db`` (its own database, made
here, with the extension and Django's migrations) has logged-in users with data. The import
runs while the old backend keeps serving and again after the switch; then ``SESSION_ENGINE``
changes and every old cookie must log its user in once, with their data, under a new key. At
the end the export writes the sessions back into ``django_session`` and the old backend serves
them.
"""

import json
import os
import re
import sys
import threading
import unittest

import django
import psycopg
from django.conf import settings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

DATABASE = "varel_moving_django"
DSN = dict(part.split("=", 1) for part in os.environ["VAREL_DJANGO_DSN"].split())


def fresh_database():
    admin = " ".join(f"{k}={v}" for k, v in DSN.items())
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(admin.replace(f"dbname={DSN['dbname']}", f"dbname={DATABASE}"),
                         autocommit=True) as conn:
        conn.execute("CREATE EXTENSION varel_session")


fresh_database()
settings.configure(
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": DATABASE,
        "HOST": DSN.get("host", ""), "PORT": DSN.get("port", ""),
        "USER": DSN.get("user", "postgres"),
    }},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                    "django.contrib.sessions", "varel_session_django"],
    SESSION_ENGINE="django.contrib.sessions.backends.db",
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware"],
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["testserver"],
    SECRET_KEY="not secret: tests only",
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    USE_TZ=True,
)
django.setup()

from django.contrib.auth import authenticate, login, logout  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402


def log_in(request):
    user = authenticate(request, username=request.GET["user"], password="pw")
    login(request, user)
    request.session["cart"] = [request.GET["user"], 1]
    return HttpResponse("ok")


def me(request):
    return JsonResponse({"user": request.user.username if request.user.is_authenticated else None,
                         "cart": request.session.get("cart")})


def add(request):
    request.session["cart"] = request.session.get("cart", []) + [request.GET["item"]]
    return HttpResponse("ok")


def log_out(request):
    logout(request)
    return HttpResponse("ok")


urlpatterns = [path("login", log_in), path("me", me), path("add", add), path("logout", log_out)]

VAREL = {"SESSION_ENGINE": "varel_session_django.backend", "VAREL_SESSION_IMPORTED_FROM": "django"}
OWN_KEY = re.compile(r"[0-9a-f]{64}")


def browser(cookie=None):
    client = Client()
    if cookie is not None:
        client.cookies["sessionid"] = cookie
    return client


def me_of(client):
    return json.loads(client.get("/me").content)


def count(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


class MovingFromTheDatabaseBackend(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        call_command("migrate", verbosity=0)
        for name in ("alice", "bob", "carol", "dave", "erin", "frank"):
            User.objects.create_user(name, password="pw")
        # Logged in on the old backend, each with a cart.
        cls.old = {}
        for name in ("alice", "bob", "carol", "dave", "erin"):
            client = browser()
            client.get("/login", {"user": name})
            cls.old[name] = client.cookies["sessionid"].value
        anonymous = browser()
        anonymous.get("/add", {"item": "guest-item"})
        cls.old["guest"] = anonymous.cookies["sessionid"].value

        # The first import, while the old backend serves on.
        cls.first_run = call_command_output("varel_import_sessions")
        # Meanwhile: bob adds to his cart, carol logs out, frank logs in.
        browser(cls.old["bob"]).get("/add", {"item": "after-first-import"})
        browser(cls.old["carol"]).get("/logout")
        frank = browser()
        frank.get("/login", {"user": "frank"})
        cls.old["frank"] = frank.cookies["sessionid"].value
        # The switch, then the import again: it catches what changed in between.
        cls.second_run = call_command_output("varel_import_sessions")

    def test_1_the_import_reports_what_it_did(self):
        self.assertIn("imported 6, skipped 0", self.first_run)
        self.assertIn("imported 6, skipped 0", self.second_run)  # bob again, carol gone, frank
        self.assertIn("ended 1 ", self.second_run)  # carol's logged-out session

    def test_2_only_hashes_of_the_old_keys_are_stored(self):
        for key in self.old.values():
            self.assertEqual(count("SELECT count(*) FROM varel_session.imported_sessions "
                                   "WHERE position(convert_to(%s, 'UTF8') IN id_hash) > 0 "
                                   "OR data::text LIKE %s", [key, f"%{key}%"]), 0)

    @override_settings(**VAREL)
    def test_3_every_user_is_still_logged_in_once_with_their_data(self):
        expected = {"alice": ["alice", 1], "bob": ["bob", 1, "after-first-import"],
                    "dave": ["dave", 1], "frank": ["frank", 1]}
        for name, cart in expected.items():
            with self.subTest(name):
                client = browser(self.old[name])
                self.assertEqual(me_of(client), {"user": name, "cart": cart})
                new_key = client.cookies["sessionid"].value
                self.assertRegex(new_key, OWN_KEY)
                # The new key goes on working; the old cookie, presented again, is no session.
                self.assertEqual(me_of(browser(new_key)), {"user": name, "cart": cart})
                self.assertEqual(me_of(browser(self.old[name])), {"user": None, "cart": None})
        # An anonymous session's data comes along too.
        self.assertEqual(me_of(browser(self.old["guest"])), {"user": None, "cart": ["guest-item"]})
        # Carol logged out on the old backend before the switch: she stays logged out.
        self.assertEqual(me_of(browser(self.old["carol"])), {"user": None, "cart": None})
        # The users are tied to their sessions: "your devices" lists them.
        alice = User.objects.get(username="alice")
        self.assertEqual(count("SELECT count(*) FROM varel_session.session_user_sessions(%s)",
                               [alice.pk]), 1)

    @override_settings(**VAREL)
    def test_4_a_bad_cookie_is_no_session_and_no_row(self):
        before = count("SELECT count(*) FROM varel_session.sessions")
        for cookie in ("not-an-old-key", "x" * 2000, "0" * 64):
            self.assertEqual(me_of(browser(cookie)), {"user": None, "cart": None})
        self.assertEqual(count("SELECT count(*) FROM varel_session.sessions"), before)

    @override_settings(**VAREL)
    def test_5_two_requests_with_one_old_cookie_make_one_session(self):
        results = []
        start = threading.Barrier(2)

        def request():
            start.wait()
            results.append(me_of(browser(self.old["erin"])))
            connection.close()

        threads = [threading.Thread(target=request) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertCountEqual(results, [{"user": "erin", "cart": ["erin", 1]},
                                        {"user": None, "cart": None}])
        erin = User.objects.get(username="erin")
        self.assertEqual(count("SELECT count(*) FROM varel_session.session_user_sessions(%s)",
                               [erin.pk]), 1)

    @override_settings(SESSION_ENGINE="varel_session_django.backend")
    def test_6_export_writes_them_back_for_the_database_backend(self):
        # The old backend's table, as a team leaving would find it: emptied of the rows it had
        # before the move (their keys are dead).
        count("WITH gone AS (DELETE FROM django_session RETURNING 1) SELECT count(*) FROM gone")
        live = count("SELECT count(*) FROM varel_session.session_export()")
        output = call_command_output("varel_export_sessions")
        self.assertIn(f"exported {live}", output)
        # Back on the old backend, an exported key logs bob in with his cart.
        from django.contrib.sessions.backends.db import SessionStore
        with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"):
            bob = User.objects.get(username="bob")
            keys = [row.session_key for row in SessionStore.get_model_class().objects.all()
                    if row.get_decoded().get("_auth_user_id") == str(bob.pk)]
            self.assertEqual(len(keys), 1)
            self.assertEqual(me_of(browser(keys[0])),
                             {"user": "bob", "cart": ["bob", 1, "after-first-import"]})


def call_command_output(name):
    from io import StringIO
    out = StringIO()
    call_command(name, stdout=out)
    return out.getvalue()


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(MovingFromTheDatabaseBackend)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
