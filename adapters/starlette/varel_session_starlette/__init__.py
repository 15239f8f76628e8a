"""A session middleware for Starlette and FastAPI on the varel_session PostgreSQL extension,
async on psycopg 3.

    app.add_middleware(VarelSessionMiddleware, conninfo="postgresql://...")   # or pool=...

Handlers keep ``request.session`` (a dict), as with Starlette's ``SessionMiddleware``. What
differs from Starlette's signed-cookie sessions:

- The cookie holds only the extension's token (64 hex characters from the server's CSPRNG),
  stored in the database only as its SHA-256; the data stays on the server.
- A save writes only the keys the request changed, as one merge patch on the server, so two
  concurrent requests of one browser that change different keys both land.
- ``request.session.log_in(user_id)`` rotates the token (against session fixation) and ties the
  session to the user; ``log_out()`` ends it; ``regenerate()`` rotates it. They take effect when
  the response starts, in the same statement as the data.
- ``await request.session.incr(key)`` is an atomic counter on the server.
- A session logged out elsewhere is never revived by a concurrent request's save: the request
  goes on without one and its cookie is removed. A bad cookie is no session, and a request
  that writes nothing stores nothing.
- Every database call is psycopg's async API on a pool (``psycopg_pool.AsyncConnectionPool``):
  no thread per call.
"""

import asyncio
import json
from http.cookies import SimpleCookie

from psycopg_pool import AsyncConnectionPool
from starlette.datastructures import MutableHeaders
from varel_session_core import Session, applied, incr_statement, load_statement, save_statement

__all__ = ["VarelSessionMiddleware", "VarelSession"]

TWO_WEEKS = 14 * 24 * 3600


class VarelSession(Session):
    """``request.session``: a dict, with the extension's log-in, log-out, rotation and atomic
    counters."""

    def __init__(self, middleware, data=None, token=None, user_id=None):
        super().__init__(data, token, user_id)
        self._middleware = middleware

    async def incr(self, key, by=1):
        """Adds ``by`` to the integer under ``key`` (missing counts as 0) atomically on the
        server and returns the new value; stores the session first if it is new. None when the
        session ended meanwhile (logged out elsewhere)."""
        if self.token is None:
            await self._middleware._save(self, create=True)
        value = (await self._middleware._run(incr_statement(self, key, by)))[0]
        if value is not None:
            dict.__setitem__(self, key, value)
            self._stored[key] = json.dumps(value)
        return value


class VarelSessionMiddleware:
    """The ASGI middleware. ``pool``: an ``AsyncConnectionPool`` of a database with the
    extension (``CREATE EXTENSION varel_session``, or the SQL edition); or ``conninfo``, from
    which the middleware opens one on first use. ``max_age``: the idle lifetime of new sessions
    and the cookie's Max-Age, in seconds (None: a browser-session cookie, two weeks on the
    server). The cookie options are Starlette's ``SessionMiddleware``'s."""

    def __init__(self, app, pool=None, conninfo=None, max_age=TWO_WEEKS, session_cookie="session",
                 path="/", same_site="lax", https_only=False, domain=None):
        if (pool is None) == (conninfo is None):
            raise ValueError("give the middleware a pool or a conninfo")
        self.app = app
        self.pool = pool
        self.conninfo = conninfo
        self.max_age = max_age
        self.cookie = session_cookie
        self.attributes = f"path={path}; httponly; samesite={same_site}"
        if https_only:
            self.attributes += "; secure"
        if domain:
            self.attributes += f"; domain={domain}"
        self._opening = asyncio.Lock()

    async def _pool(self):
        if self.pool is None:
            async with self._opening:
                if self.pool is None:
                    pool = AsyncConnectionPool(self.conninfo, min_size=1, max_size=20, open=False)
                    await pool.open()
                    self.pool = pool
        return self.pool

    async def _run(self, statement):
        pool = await self._pool()
        async with pool.connection() as connection:
            cursor = await connection.execute(statement.sql, statement.params)
            return await cursor.fetchone()

    async def _save(self, session, create=False):
        """Saves the session now; whether it still exists afterwards."""
        statement = save_statement(session, self.max_age or TWO_WEEKS, create)
        if statement is None:
            return True
        return applied(session, statement, await self._run(statement))

    async def _open(self, scope):
        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                try:
                    cookies.load(value.decode("latin-1"))
                except Exception:  # a malformed Cookie header is no cookie
                    pass
        morsel = cookies.get(self.cookie)
        if morsel is not None and morsel.value:
            row = await self._run(load_statement(morsel.value))
            if row is not None:
                return VarelSession(self, json.loads(row[0]), token=morsel.value, user_id=row[1])
        return VarelSession(self)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        session = await self._open(scope)
        scope["session"] = session

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                ending = session.pending is not None and session.pending[0] == "log_out"
                alive = await self._save(session)
                headers = MutableHeaders(scope=message)
                if ending or not alive:
                    if session.presented is not None:
                        headers.append("Set-Cookie", f"{self.cookie}=null; {self.attributes}; "
                                       "expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=0")
                elif session.token is not None and session.token != session.presented:
                    max_age = f"; max-age={self.max_age}" if self.max_age else ""
                    headers.append("Set-Cookie", f"{self.cookie}={session.token}; {self.attributes}{max_age}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)
