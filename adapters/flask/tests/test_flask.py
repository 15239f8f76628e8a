"""The Flask adapter's promises, through Flask's own test client and real connections: only
hashes stored, sessions stored once they hold something, per-key merges under concurrency,
log-in rotates, log-out ends, atomic counters, nothing revived, bad cookies are no session."""

import json
import os
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor

import psycopg
from flask import Flask, jsonify, request, session
from psycopg_pool import ConnectionPool
from varel_session_flask import VarelSessionInterface

DSN = os.environ["VAREL_ADAPTERS_DSN"]
POOL = ConnectionPool(DSN, min_size=1, max_size=16, open=True)


def admin(sql, params=()):
    with psycopg.connect(DSN, autocommit=True) as connection:
        return connection.execute(sql, params).fetchone()


def rows():
    return admin("SELECT count(*) FROM varel_session.sessions")[0]


def make_app():
    app = Flask(__name__)
    app.session_interface = VarelSessionInterface(POOL)
    gate = {}

    @app.get("/read")
    def read():
        return jsonify(dict(session))

    @app.post("/set")
    def set_keys():
        for key, value in request.get_json().items():
            session[key] = value
        barrier = gate.get("barrier")
        if barrier is not None:
            barrier.wait(timeout=10)
        return "", 204

    @app.post("/remove/<key>")
    def remove(key):
        session.pop(key, None)
        return "", 204

    @app.post("/login/<int:user_id>")
    def login(user_id):
        session.log_in(user_id)
        return "", 204

    @app.post("/logout")
    def logout():
        session.log_out()
        return "", 204

    @app.post("/incr")
    def incr():
        return jsonify(session.incr("n"))

    return app, gate


def cookie_of(client):
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


class FlaskAdapter(unittest.TestCase):
    def setUp(self):
        self.app, self.gate = make_app()
        self.client = self.app.test_client()

    def test_only_a_hash_is_stored_and_only_once_the_session_holds_something(self):
        before = rows()
        self.client.get("/read")
        self.assertIsNone(cookie_of(self.client))
        self.assertEqual(rows(), before)
        self.client.post("/set", json={"a": 1})
        token = cookie_of(self.client)
        self.assertRegex(token, "^[0-9a-f]{64}$")
        self.assertEqual(rows(), before + 1)
        self.assertEqual(admin("SELECT count(*) FROM varel_session.sessions WHERE token_hash = sha256(decode(%s, 'hex'))", (token,))[0], 1)
        self.assertEqual(admin("SELECT count(*) FROM varel_session.sessions WHERE data::text LIKE %s", ("%" + token + "%",))[0], 0)
        self.assertEqual(self.client.get("/read").get_json(), {"a": 1})

    def test_concurrent_requests_changing_different_keys_both_land(self):
        self.client.post("/set", json={"a": 0})
        token = cookie_of(self.client)
        for round_ in range(10):
            self.gate["barrier"] = threading.Barrier(2)

            def change(key):
                client = self.app.test_client()
                client.set_cookie("session", token)
                return client.post("/set", json={key: round_}).status_code

            with ThreadPoolExecutor(2) as pool:
                self.assertEqual(list(pool.map(change, ["left", "right"])), [204, 204])
            data = self.client.get("/read").get_json()
            self.assertEqual((data["left"], data["right"], data["a"]), (round_, round_, 0), data)
        self.gate.pop("barrier")

    def test_a_removal_writes_only_that_key(self):
        self.client.post("/set", json={"a": 1, "b": 2})
        self.client.post("/remove/a")
        self.assertEqual(self.client.get("/read").get_json(), {"b": 2})

    def test_a_null_value_is_stored(self):
        self.client.post("/set", json={"a": 1})
        self.client.post("/set", json={"b": None})
        self.assertEqual(self.client.get("/read").get_json(), {"a": 1, "b": None})

    def test_log_in_rotates_the_token_and_ties_the_user(self):
        self.client.post("/set", json={"cart": [1]})
        before = cookie_of(self.client)
        self.client.post("/login/5150")
        after = cookie_of(self.client)
        self.assertNotEqual(before, after)
        self.assertIsNone(admin("SELECT user_id FROM varel_session.session_get(%s)", (before,)))
        self.assertEqual(admin("SELECT user_id, data->'cart' FROM varel_session.session_get(%s)", (after,)), (5150, [1]))

    def test_log_out_ends_the_session_and_removes_the_cookie(self):
        self.client.post("/login/5151")
        token = cookie_of(self.client)
        self.client.post("/logout")
        self.assertIsNone(cookie_of(self.client))
        self.assertIsNone(admin("SELECT 1 FROM varel_session.session_get(%s)", (token,)))

    def test_incr_is_atomic_under_concurrency(self):
        self.client.post("/set", json={"n": 0})
        token = cookie_of(self.client)

        def bump(_):
            client = self.app.test_client()
            client.set_cookie("session", token)
            return client.post("/incr").status_code

        with ThreadPoolExecutor(16) as pool:
            self.assertEqual(set(pool.map(bump, range(64))), {200})
        self.assertEqual(self.client.get("/read").get_json()["n"], 64)

    def test_incr_stores_a_new_session_first(self):
        self.assertEqual(self.client.post("/incr").get_json(), 1)
        self.assertEqual(self.client.post("/incr").get_json(), 2)

    def test_a_session_logged_out_elsewhere_is_not_revived(self):
        self.client.post("/set", json={"a": 1})
        token = cookie_of(self.client)
        self.gate["barrier"] = threading.Barrier(2)
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(lambda: self.client.post("/set", json={"late": True}))
            # The request has loaded the session; it is logged out elsewhere before it saves.
            admin("SELECT varel_session.session_destroy(%s)", (token,))
            self.gate["barrier"].wait(timeout=10)
            self.assertEqual(pending.result().status_code, 204)
        self.gate.pop("barrier")
        self.assertIsNone(admin("SELECT 1 FROM varel_session.sessions WHERE token_hash = sha256(decode(%s, 'hex'))", (token,)))
        self.assertIsNone(cookie_of(self.client))

    def test_a_bad_cookie_is_no_session_and_stores_nothing(self):
        before = rows()
        for value in ["x", "0" * 64, "A" * 8192, "'; DROP TABLE varel_session.sessions; --"]:
            client = self.app.test_client()
            client.set_cookie("session", value)
            response = client.get("/read")
            self.assertEqual((response.status_code, response.get_json()), (200, {}))
        self.assertEqual(rows(), before)


if __name__ == "__main__":
    unittest.main()
