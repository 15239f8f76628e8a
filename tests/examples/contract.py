"""The example apps' shared HTTP contract, checked against one app over real HTTP.

    python tests/examples/contract.py adapters/<name>/example/run

Every adapter ships an example app at adapters/<name>/example/run (an executable that reads
DATABASE_URL, a libpq URL, and PORT, and serves on 127.0.0.1:$PORT) with the endpoints of
client/examples/app.rs:

    POST /login        {"user_id": N}: logs in (the session's token rotates) -> {"user_id": N}
    GET  /me           {"user_id": N, "visits": V}, V counted atomically; 401 without a session
    GET  /sessions     the user's sessions: [{"handle": ..., "current": true|false, ...}]
    POST /logout       ends this session
    POST /logout-all   ends every session of the user

This script starts the app against the database VAREL_ADAPTERS_DSN names (a libpq key=value
string; VAREL_ADAPTERS_DATABASE_URL is what the app gets), then checks, with cookie-jar
browsers: log-in rotates the token and the old one is dead; 64 concurrent /me of one browser
raise visits by exactly 64; the listing marks the current session; log-out ends one session,
log-out-all every one of the user; a malformed, forged, oversized (8 KB), not UTF-8 or
logged-out cookie is no session (401, never a 500, never a new row); no cookie value ever
appears in the app's output or in the sessions table. It exits non-zero on the first failure, saying which.
"""

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg

CONCURRENT = 64


class ContractError(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise ContractError(message)


class Browser:
    """A client with a cookie jar: sends the cookies the app set, keeps the ones it sets."""

    def __init__(self, port, name):
        self.port = port
        self.name = name
        self.cookies = {}

    def call(self, method, path, body=None, cookies=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"User-Agent": f"contract/{self.name}", "Accept": "application/json"}
        jar = self.cookies if cookies is None else cookies
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        if cookies is None:
            for header, value in response.getheaders():
                if header.lower() != "set-cookie":
                    continue
                pair = value.split(";", 1)[0]
                name, _, cookie = pair.partition("=")
                attributes = value.lower()
                if cookie == "" or "max-age=0" in attributes or "expires=thu, 01 jan 1970" in attributes:
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = cookie.strip()
        connection.close()
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return response.status, payload


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, process, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ContractError(f"the app exited with {process.returncode} before serving")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise ContractError(f"the app did not serve on port {port} within {seconds} s")


def session_rows(db):
    return db.execute("SELECT count(*) FROM varel_session.sessions").fetchone()[0]


def run(app, dsn, url):
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="contract-", suffix=".log", delete=False)
    env = dict(os.environ, DATABASE_URL=url, PORT=str(port))
    process = subprocess.Popen([app], stdout=log, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    seen_cookies = set()
    try:
        wait_for(port, process)
        with psycopg.connect(dsn, autocommit=True) as db:
            steps(port, db, seen_cookies)
        # No cookie value the app handed out, nor any this script forged, is in its output.
        time.sleep(0.5)
        output = open(log.name, encoding="utf-8", errors="replace").read()
        for value in seen_cookies:
            check(value not in output, "a cookie value appears in the app's output")
        print(f"contract: {app}: every check passed")
    except ContractError as failure:
        output = open(log.name, encoding="utf-8", errors="replace").read()
        print(f"contract: {app}: {failure}\n--- the app's output (last 60 lines) ---", file=sys.stderr)
        print("\n".join(output.splitlines()[-60:]), file=sys.stderr)
        return 1
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
        os.unlink(log.name)
    return 0


def steps(port, db, seen):
    user = 700000 + secrets.randbelow(99999)

    def remember(browser):
        seen.update(v for v in browser.cookies.values() if len(v) >= 16)

    def not_in_table(values):
        for value in values:
            found = db.execute(
                "SELECT count(*) FROM varel_session.sessions WHERE data::text LIKE %s"
                " OR coalesce(user_agent, '') LIKE %s OR position(convert_to(%s, 'UTF8') IN token_hash) > 0",
                ("%" + value + "%", "%" + value + "%", value)).fetchone()[0]
            check(found == 0, "a cookie value is stored in the sessions table")

    a = Browser(port, "a")
    rows = session_rows(db)
    status, _ = a.call("GET", "/me")
    check(status == 401, f"GET /me without a session: {status}, not 401")
    check(session_rows(db) == rows, "GET /me without a session stored a row")

    status, body = a.call("POST", "/login", {"user_id": user})
    check(status == 200, f"POST /login: {status}")
    check(isinstance(body, dict) and body.get("user_id") == user, f"POST /login answered {body!r}")
    check(a.cookies, "POST /login set no cookie")
    remember(a)
    status, body = a.call("GET", "/me")
    check(status == 200 and body.get("user_id") == user and body.get("visits") == 1,
          f"the first GET /me after log-in: {status} {body!r}")

    # Log-in again: the token rotates and the old one names no session.
    before = dict(a.cookies)
    status, _ = a.call("POST", "/login", {"user_id": user})
    check(status == 200, f"the second POST /login: {status}")
    remember(a)
    check(a.cookies != before, "log-in did not rotate the session's cookie")
    status, _ = a.call("GET", "/me", cookies=before)
    check(status == 401, f"the cookie from before the log-in still works ({status})")

    # 64 concurrent requests of one browser: exactly 64 more visits.
    status, body = a.call("GET", "/me")
    check(status == 200, f"GET /me: {status}")
    start = body["visits"]
    jar = dict(a.cookies)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: a.call("GET", "/me", cookies=jar), range(CONCURRENT)))
    statuses = sorted({status for status, _ in results})
    check(statuses == [200], f"concurrent GET /me answered {statuses}")
    status, body = a.call("GET", "/me")
    check(body["visits"] == start + CONCURRENT + 1,
          f"{CONCURRENT} concurrent GET /me raised visits from {start} to {body['visits'] - 1}, "
          f"not {start + CONCURRENT}")

    # A second and third browser of the same user; the listing marks the current session.
    b, c = Browser(port, "b"), Browser(port, "c")
    for browser in (b, c):
        status, _ = browser.call("POST", "/login", {"user_id": user})
        check(status == 200, f"POST /login of browser {browser.name}: {status}")
        remember(browser)
    status, listing = a.call("GET", "/sessions")
    check(status == 200 and isinstance(listing, list), f"GET /sessions: {status} {listing!r}")
    check(len(listing) == 3, f"GET /sessions lists {len(listing)} sessions of the user, not 3")
    check(all(isinstance(s, dict) and s.get("handle") for s in listing),
          "GET /sessions: an entry without a handle")
    check(sum(1 for s in listing if s.get("current") is True) == 1,
          "GET /sessions does not mark exactly one session as the current one")
    not_in_table(seen)

    # Log-out ends this session only.
    logged_out = dict(b.cookies)
    status, _ = b.call("POST", "/logout")
    check(200 <= status < 300, f"POST /logout: {status}")
    status, _ = b.call("GET", "/me", cookies=logged_out)
    check(status == 401, f"a logged-out cookie still works ({status})")
    status, _ = a.call("GET", "/me")
    check(status == 200, f"log-out of one browser ended another's session ({status})")

    # Bad cookies: no session, never a 500, never a new row.
    rows = session_rows(db)
    names = sorted(set(a.cookies) | set(logged_out))
    bad = {
        "malformed": "x",
        "forged token": secrets.token_hex(32),
        "forged framework id": secrets.token_urlsafe(32),
        "oversized": "A" * 8192,
        # A byte that is not UTF-8 (http.client sends the header in Latin-1): the server would
        # refuse it as text, so an app must not pass it to the database as it came.
        "not UTF-8": "\u00a3" + secrets.token_hex(31),
    }
    seen.update(v for k, v in bad.items() if k != "malformed")
    for label, value in list(bad.items()) + [("logged out", None)]:
        jar = logged_out if value is None else {name: value for name in names}
        status, _ = Browser(port, label).call("GET", "/me", cookies=jar)
        check(status == 401, f"a {label} cookie: GET /me answered {status}, not 401")
        status, _ = Browser(port, label).call("POST", "/logout", cookies=jar)
        check(status < 500, f"a {label} cookie: POST /logout answered {status}")
    check(session_rows(db) == rows, "a bad cookie made the app store a session")

    # Log-out everywhere ends every session of the user, this one included.
    status, _ = a.call("POST", "/logout-all")
    check(200 <= status < 300, f"POST /logout-all: {status}")
    for browser in (a, c):
        status, _ = browser.call("GET", "/me")
        check(status == 401, f"browser {browser.name} is still logged in after log-out-all ({status})")
    not_in_table(seen)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    dsn = os.environ["VAREL_ADAPTERS_DSN"]
    url = os.environ["VAREL_ADAPTERS_DATABASE_URL"]
    return run(os.path.abspath(sys.argv[1]), dsn, url)


if __name__ == "__main__":
    sys.exit(main())
