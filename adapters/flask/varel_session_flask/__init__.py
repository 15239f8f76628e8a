"""A Flask session interface on the varel_session PostgreSQL extension.

    app.session_interface = VarelSessionInterface(pool)   # a psycopg_pool.ConnectionPool

Handlers keep Flask's ``session`` (a dict). What differs from Flask's signed-cookie sessions:

- The cookie holds only the extension's token (64 hex characters from the server's CSPRNG),
  stored in the database only as its SHA-256; the data stays on the server.
- A save writes only the keys the request changed, as one merge patch on the server, so two
  concurrent requests of one browser that change different keys both land.
- ``session.log_in(user_id)`` rotates the token (against session fixation) and ties the session
  to the user; ``session.log_out()`` ends it; ``session.regenerate()`` rotates it.
- ``session.incr(key)`` is an atomic counter on the server: concurrent requests lose none.
- A session logged out elsewhere is never revived by a concurrent request's save: the request
  goes on without one and its cookie is removed. A bad cookie is no session, and a request
  that writes nothing stores nothing.
- Values must be JSON (as Starlette's and Django's sessions are): no bytes, datetimes or
  Markup, which Flask's cookie serializer tags.
"""

import json
from datetime import datetime, timedelta, timezone

from flask.sessions import SessionInterface, SessionMixin
from varel_session_core import (
    Session,
    applied,
    incr_statement,
    load_statement,
    save_statement,
)

__all__ = ["VarelSessionInterface", "VarelSession"]

TWO_WEEKS = 14 * 24 * 3600


class VarelSession(Session, SessionMixin):
    """Flask's ``session``: a dict, with the extension's log-in, log-out, rotation and atomic
    counters."""

    def __init__(self, interface, data=None, token=None, user_id=None):
        super().__init__(data, token, user_id)
        self._interface = interface

    def incr(self, key, by=1):
        """Adds ``by`` to the integer under ``key`` (missing counts as 0) atomically on the
        server and returns the new value; stores the session first if it is new. None when the
        session ended meanwhile (logged out elsewhere)."""
        if self.token is None:
            self._interface._save(self, create=True)
        value = self._interface._run(incr_statement(self, key, by))[0]
        if value is not None:
            dict.__setitem__(self, key, value)
            self._stored[key] = json.dumps(value)
        return value


class VarelSessionInterface(SessionInterface):
    """Flask's session interface over a ``psycopg_pool.ConnectionPool`` of a database with the
    extension (``CREATE EXTENSION varel_session``, or the SQL edition). ``max_age``: the idle
    lifetime of new sessions, in seconds (Flask's ``PERMANENT_SESSION_LIFETIME`` when it is
    set; two weeks otherwise)."""

    def __init__(self, pool, max_age=None):
        self.pool = pool
        self.max_age = max_age

    def _run(self, statement):
        with self.pool.connection() as connection:
            return connection.execute(statement.sql, statement.params).fetchone()

    def _lifetime(self, app):
        if self.max_age is not None:
            return self.max_age
        configured = app.config.get("PERMANENT_SESSION_LIFETIME")
        return int(configured.total_seconds()) if configured else TWO_WEEKS

    def _save(self, session, app=None, create=False):
        """Saves the session now; whether it still exists afterwards."""
        from flask import current_app

        statement = save_statement(session, self._lifetime(app or current_app), create)
        if statement is None:
            return True
        return applied(session, statement, self._run(statement))

    def open_session(self, app, request):
        cookie = request.cookies.get(self.get_cookie_name(app))
        if cookie:
            row = self._run(load_statement(cookie))
            if row is not None:
                return VarelSession(self, json.loads(row[0]), token=cookie, user_id=row[1])
        return VarelSession(self)

    def save_session(self, app, session, response):
        name, domain, path = (self.get_cookie_name(app), self.get_cookie_domain(app),
                              self.get_cookie_path(app))
        ending = session.pending is not None and session.pending[0] == "log_out"
        alive = self._save(session, app)
        if ending or not alive:
            if session.presented is not None:
                response.delete_cookie(name, domain=domain, path=path,
                                       secure=self.get_cookie_secure(app),
                                       httponly=self.get_cookie_httponly(app),
                                       samesite=self.get_cookie_samesite(app))
            return
        if session.token is None or session.token == session.presented:
            return
        expires = None
        if session.permanent:
            expires = datetime.now(timezone.utc) + timedelta(seconds=self._lifetime(app))
        response.vary.add("Cookie")
        response.set_cookie(name, session.token, expires=expires, domain=domain, path=path,
                            httponly=self.get_cookie_httponly(app),
                            secure=self.get_cookie_secure(app),
                            samesite=self.get_cookie_samesite(app) or "Lax")
