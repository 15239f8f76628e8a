"""The adapter in a running Django app, driven over HTTP by browsers with cookie jars: log in,
a counter under concurrent requests, a second browser, log out, and a log-out elsewhere."""

import http.cookiejar
import json
import socketserver
import threading
import unittest
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.core.wsgi import get_wsgi_application
from django.db import connection


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class Browser:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path):
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                body = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        return status, body

    def json(self, path):
        status, body = self.get(path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def cookie(self):
        return next((c.value for c in self.jar if c.name == "sessionid"), None)


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = make_server("127.0.0.1", 0, get_wsgi_application(),
                                 server_class=ThreadingServer, handler_class=QuietHandler)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.base = f"http://127.0.0.1:{cls.server.server_port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def test_log_in_counter_second_browser_log_out(self):
        alice = Browser(self.base)
        self.assertEqual(alice.json("/me"), {"user": None, "visits": 0, "note": None})
        self.assertIsNone(alice.cookie(), "a request that changes nothing creates no session")
        alice.get("/note?text=hello")
        anonymous = alice.cookie()
        self.assertRegex(anonymous, "^[0-9a-f]{64}$")
        alice.get("/login?user=7001")
        self.assertNotEqual(alice.cookie(), anonymous, "log-in rotates the key")
        self.assertEqual(alice.json("/me"), {"user": "7001", "visits": 0, "note": "hello"})

        # 48 concurrent requests of one browser: exactly 48 more visits.
        with ThreadPoolExecutor(max_workers=12) as pool:
            counts = list(pool.map(lambda _: alice.json("/count")["visits"], range(48)))
        self.assertEqual(sorted(counts), list(range(1, 49)))
        self.assertEqual(alice.json("/me")["visits"], 48)

        # A second browser has its own session.
        bob = Browser(self.base)
        bob.get("/login?user=7002")
        self.assertEqual(bob.json("/count")["visits"], 1)
        self.assertEqual(alice.json("/me")["visits"], 48)

        alice.get("/logout")
        self.assertEqual(alice.json("/me"), {"user": None, "visits": 0, "note": None})
        self.assertEqual(bob.json("/me")["user"], "7002")

    def test_concurrent_writes_of_different_keys_all_land(self):
        browser = Browser(self.base)
        browser.get("/note?text=start")
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda i: browser.get(f"/count"), range(16)))
            list(pool.map(lambda i: browser.get(f"/note?text={i}"), range(8)))
        me = browser.json("/me")
        self.assertEqual(me["visits"], 16)
        self.assertIn(me["note"], [str(i) for i in range(8)])

    def test_a_log_out_elsewhere_is_not_undone(self):
        phone = Browser(self.base)
        phone.get("/login?user=7003")
        phone.get("/note?text=phone")
        key = phone.cookie()
        # "Log out everywhere" from another device.
        with connection.cursor() as cursor:
            cursor.execute("SELECT varel_session.session_user_revoke(7003)")
        # The phone's next request finds no session: it is anonymous again, with a new key;
        # the revoked key stays dead and nothing of its data comes back.
        self.assertEqual(phone.json("/me"), {"user": None, "visits": 0, "note": None})
        phone.get("/note?text=later")
        self.assertNotEqual(phone.cookie(), key)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM varel_session.session_get(%s)", [key])
            self.assertEqual(cursor.fetchone()[0], 0, "the revoked session was not recreated")
        self.assertEqual(phone.json("/me"), {"user": None, "visits": 0, "note": "later"})
