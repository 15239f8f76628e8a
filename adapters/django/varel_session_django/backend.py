"""A Django session engine on the varel_session PostgreSQL extension.

    SESSION_ENGINE = "varel_session_django.backend"

Each method is one call of the extension's SQL API on Django's own database connection (so it
joins Django's transactions and connection handling): ``load`` is one ``session_load``, a save
is one statement, ``cycle_key`` one ``session_regenerate``. The session key is the extension's
token: 64 hex characters from the server's CSPRNG, stored only as its SHA-256, never chosen by
the client.

What it does differently from ``django.contrib.sessions.backends.db``:

- A save writes only the keys this request changed (a merge patch built on the server from the
  row's newest version), so two concurrent requests that change different keys both land.
- A save never recreates a session deleted elsewhere (a log-out on another device): it raises
  ``UpdateError``, which Django's middleware turns into ``SessionInterrupted``.
- ``incr`` is an atomic counter on the server: concurrent requests lose no increments.
- A log-in (``_auth_user_id`` set to an integer) ties the session to the user in the extension
  (``session_set_user``, which also rotates the key), so ``session_user_sessions`` lists a user's
  devices and ``session_user_revoke`` logs them out everywhere.
- The session's lifetime slides while it is used (``session_load``), instead of expiring
  ``SESSION_COOKIE_AGE`` after the last *save*.
- The async methods (``aload``, ``asave``, ``acreate``, ``aexists``, ``adelete``,
  ``acycle_key``, ``aflush``, ``aincr``, ``aclear_expired``) run the same statements on
  psycopg's async connections (a pool per event loop, from the same ``DATABASES`` entry), not
  in a thread; ``varel_session_django.middleware.SessionMiddleware`` saves with them in an
  async (ASGI) stack.

Each operation is written once, as the statement it sends and what its row means; the sync and
async methods differ only in how they run it.
"""

import json
import re

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.db import connections

from . import aio

# Django keeps the session's custom expiry and the logged-in user in the session data itself.
EXPIRY_KEY = "_session_expiry"
USER_KEY = "_auth_user_id"

LOAD = "SELECT data::text, user_id FROM varel_session.session_load(%s)"
# The first request with a cookie of the store the sessions were imported from
# (VAREL_SESSION_IMPORTED_FROM, docs/moving.md): its session under a new key, the old key dead.
CLAIM = "SELECT data::text, user_id, id FROM varel_session.session_claim(%s, %s)"
OWN_KEY = re.compile(r"[0-9a-fA-F]{64}")
EXISTS = "SELECT count(*) FROM varel_session.session_get(%s)"
CREATE = ("SELECT varel_session.session_new("
          "max_age => make_interval(secs => %s::double precision), user_id => %s, data => %s::jsonb)")
DESTROY = "SELECT varel_session.session_destroy(%s)"
REGENERATE = "SELECT varel_session.session_regenerate(%s)"
INCR = "SELECT varel_session.session_incr(%s, %s, %s)"
CSRF_TOKEN = "SELECT varel_session.session_csrf_token(%s)"
CSRF_VERIFY = "SELECT varel_session.session_csrf_verify(%s, %s)"
CLEANUP = "SELECT varel_session.session_cleanup()"


def _alias():
    return getattr(settings, "VAREL_SESSION_DB_ALIAS", "default")


def _query(sql, params=()):
    """Runs one statement on Django's connection and returns its first row (or None)."""
    with connections[_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


async def _aquery(sql, params=()):
    """Runs one statement on an async psycopg connection to the same database."""
    return await aio.query(_alias(), sql, params)


def _dumps(value):
    # Sorted keys: the stored data comes back in jsonb's key order, and an unchanged nested
    # object must compare equal whatever order the app built it in.
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _user_id(data):
    """The logged-in user's id as the extension's bigint, or None (no user, or a primary key
    that is not an integer written plainly, which then is not tied to the session: "007" and
    "7" must not become the same user)."""
    value = data.get(USER_KEY)
    if isinstance(value, int) and not isinstance(value, bool):
        user_id = value
    elif isinstance(value, str) and re.fullmatch(r"-?(0|[1-9][0-9]*)", value):
        user_id = int(value)
    else:
        return None
    return user_id if -(2**63) <= user_id < 2**63 else None


class SessionStore(SessionBase):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        # The data as the database last had it (each value as its JSON text), to find what this
        # request changed, and the user the session belongs to there.
        self._stored = {}
        self._stored_user = None

    def _validate_session_key(self, key):
        """Django's check, and no NUL: Django's cookie parser turns a quoted ``\\000`` into one,
        and PostgreSQL refuses it in text, which would be a 500 instead of no session."""
        return super()._validate_session_key(key) and "\x00" not in key

    def _remember(self, data, user_id):
        self._stored = {key: _dumps(value) for key, value in data.items()}
        self._stored_user = user_id

    # Loading.

    def _load_statement(self):
        """``session_load``, or for a key of another form while an import is being taken over,
        ``session_claim``: one statement either way, and keys of the extension's own form never
        look at the imported sessions."""
        imported_from = getattr(settings, "VAREL_SESSION_IMPORTED_FROM", None)
        if imported_from and not OWN_KEY.fullmatch(self.session_key or ""):
            return CLAIM, [imported_from, self.session_key]
        return LOAD, [self.session_key]

    def load(self):
        filling = not hasattr(self, "_session_cache")
        return self._loaded(_query(*self._load_statement()), filling)

    async def aload(self):
        filling = not hasattr(self, "_session_cache")
        return self._loaded(await _aquery(*self._load_statement()), filling)

    def _loaded(self, row, filling):
        # The snapshot is of what fills the cache: an explicit load() while a cache exists must
        # not make the next save compare the cache with newer data.
        if row is None:
            # Unknown, expired, destroyed or malformed: no session, and no record is created for
            # the key the client sent.
            self._session_key = None
            if filling:
                self._remember({}, None)
            return {}
        data = json.loads(row[0])
        if len(row) > 2:
            # Claimed from the old store: the session's new key goes to the browser now.
            self._session_key = row[2]
            self.modified = True
        if filling:
            self._remember(data, row[1])
        return data

    def exists(self, session_key):
        return bool(session_key) and _query(EXISTS, [session_key])[0] > 0

    async def aexists(self, session_key):
        return bool(session_key) and (await _aquery(EXISTS, [session_key]))[0] > 0

    # Creating and saving.

    def _create_params(self, data):
        return [max(self.get_expiry_age(), 1), _user_id(data), _dumps(data)]

    def _created(self, row, data):
        """Whether the new session must be deleted at once (an expiry in the past: it exists,
        already ended, as Django's database backend stores it expired)."""
        self._session_key = row[0]
        self._remember(data, _user_id(data))
        self.modified = True
        return self.get_expiry_age() <= 0

    def create(self):
        data = self._get_session(no_load=True)
        if self._created(_query(CREATE, self._create_params(data)), data):
            self.delete()

    async def acreate(self):
        data = await self._aget_session(no_load=True)
        if self._created(await _aquery(CREATE, self._create_params(data)), data):
            await self.adelete()

    def _save_statement(self, data):
        """The one statement that saves this request's changes, its parameters, and the user
        the session belongs to afterwards."""
        changed = {k: v for k, v in data.items() if self._stored.get(k) != _dumps(v)}
        removed = [k for k in self._stored if k not in data]
        user = _user_id(data)
        expiry_changed = EXPIRY_KEY in changed or EXPIRY_KEY in removed
        if any(v is None for v in changed.values()):
            # A JSON null in a merge patch removes the key: replace the whole data instead.
            write = "varel_session.session_set_data(t.id, %s::jsonb)"
            payload = _dumps(data)
        else:
            patch = dict(changed)
            patch.update({k: None for k in removed})
            write = "varel_session.session_set(t.id, %s::jsonb)"
            payload = _dumps(patch)
        # One statement: a log-in first (it rotates the key), then the changed keys, then the
        # new lifetime if it changed, all on the session the (new) key names.
        rotate = "%s::text"
        rotate_params = [self.session_key]
        if user is not None and user != self._stored_user:
            rotate = "varel_session.session_set_user(%s, %s)"
            rotate_params.append(user)
        elif user is None and self._stored_user is not None and USER_KEY in self._stored:
            # The user's id left the data without a flush(): the session is no longer theirs.
            rotate = "varel_session.session_clear_user(%s)"
        sql = (f"WITH t AS (SELECT {rotate} AS id) "
               f"SELECT t.id, {write}, "
               "CASE WHEN %s THEN varel_session.session_set_max_age("
               "t.id, make_interval(secs => %s::double precision)) IS NOT NULL END FROM t")
        return sql, rotate_params + [payload, expiry_changed, self.get_expiry_age()], user

    def _saved(self, row, data, user):
        new_key, written, _ = row
        if new_key is None or not written:
            # Destroyed, revoked or expired since this request loaded it (a log-out elsewhere):
            # never recreate it.
            raise UpdateError
        self._session_key = new_key
        self._remember(data, user)

    def save(self, must_create=False):
        if self.session_key is None or must_create:
            if must_create and self.session_key is not None:
                # The extension chooses every key itself, so a key that exists cannot be taken.
                raise CreateError
            return self.create()
        data = self._get_session()
        if self.get_expiry_age() <= 0:
            self.delete()
            return
        sql, params, user = self._save_statement(data)
        self._saved(_query(sql, params), data, user)

    async def asave(self, must_create=False):
        if self.session_key is None or must_create:
            if must_create and self.session_key is not None:
                raise CreateError
            return await self.acreate()
        data = await self._aget_session()
        if self.get_expiry_age() <= 0:
            await self.adelete()
            return
        sql, params, user = self._save_statement(data)
        self._saved(await _aquery(sql, params), data, user)

    # Deleting and rotating.

    def delete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key is not None:
            _query(DESTROY, [session_key])

    async def adelete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key is not None:
            await _aquery(DESTROY, [session_key])

    def clear(self):
        # Loaded first, so that the save knows which stored keys to remove.
        self._get_session()
        super().clear()

    def _flushed(self):
        self._session_cache = {}
        self.accessed = True
        self.modified = True
        self._session_key = None
        self._remember({}, None)

    def flush(self):
        # Django's flush() is clear() + delete(): the session goes, so there is nothing to load
        # for the save to compare with.
        self.delete()
        self._flushed()

    async def aflush(self):
        await self.adelete()
        self._flushed()

    def _regenerated(self, row):
        if row[0] is not None:
            self._session_key = row[0]
            self.modified = True
            return
        # Ended elsewhere (a log-out on another device) since this request loaded it: its data,
        # log-in included, does not carry over; the request goes on with a new, empty session.
        self._session_key = None
        self._session_cache = {}
        self._remember({}, None)
        self.modified = True

    def cycle_key(self):
        """A new key for the same session, its data kept (one ``session_regenerate``)."""
        self._get_session()  # loaded, so that a key the database no longer has reads as none
        if self.session_key is None:
            # Never saved: created now, with this data.
            self.create()
            return
        self._regenerated(_query(REGENERATE, [self.session_key]))

    async def acycle_key(self):
        # Django's default would create a new session and delete the old one; this keeps the
        # session (its handle, deadlines and user) as the sync version does.
        await self._aget_session()
        if self.session_key is None:
            await self.acreate()
            return
        self._regenerated(await _aquery(REGENERATE, [self.session_key]))

    # Atomic operations, done on the server at once (not at the end of the request).

    def _incremented(self, row, data, key):
        if row[0] is None:
            # Ended elsewhere since this request loaded it: 400, as Django answers a save then.
            raise SessionInterrupted(
                "The request's session was deleted before the request completed."
            )
        data[key] = row[0]
        self._stored[key] = _dumps(row[0])
        return row[0]

    def incr(self, key, by=1):
        """Adds ``by`` to the integer under ``key`` (missing counts as 0) atomically in the
        database and returns the new value; concurrent requests lose no increments. Creates the
        session first if there is none (or the browser's key names none)."""
        data = self._get_session()
        if self.session_key is None:
            self.save()
        return self._incremented(_query(INCR, [self.session_key, key, by]), data, key)

    async def aincr(self, key, by=1):
        """``incr``, on an async connection."""
        data = await self._aget_session()
        if self.session_key is None:
            await self.asave()
        return self._incremented(await _aquery(INCR, [self.session_key, key, by]), data, key)

    # CSRF tokens bound to the session (the extension's session_csrf_token): derived from the
    # key, so nothing is stored and the token changes whenever the key does (log-in, log-out,
    # cycle_key). Django's CsrfViewMiddleware keeps working beside them; these are for views
    # and APIs that want a token that dies with the session.

    def _csrf(self, row):
        if row[0] is None:
            raise SessionInterrupted(
                "The request's session was deleted before the request completed."
            )
        return row[0]

    def csrf_token(self):
        """The session's CSRF token for this page's forms: 64 hex characters the extension
        derives from the session key. Creates the session first if there is none. Render it
        after a log-in or ``cycle_key`` in the same request, which change it."""
        self._get_session()
        if self.session_key is None:
            self.save()
        return self._csrf(_query(CSRF_TOKEN, [self.session_key]))

    async def acsrf_token(self):
        """``csrf_token``, on an async connection."""
        await self._aget_session()
        if self.session_key is None:
            await self.asave()
        return self._csrf(await _aquery(CSRF_TOKEN, [self.session_key]))

    def verify_csrf(self, candidate):
        """Whether ``candidate`` (what the form or header sent) is the session's CSRF token,
        compared in constant time by the extension; false without a stored session."""
        if self.session_key is None or candidate is None:
            return False
        return bool(_query(CSRF_VERIFY, [self.session_key, candidate])[0])

    async def averify_csrf(self, candidate):
        """``verify_csrf``, on an async connection."""
        if self.session_key is None or candidate is None:
            return False
        return bool((await _aquery(CSRF_VERIFY, [self.session_key, candidate]))[0])

    @classmethod
    def clear_expired(cls):
        _query(CLEANUP)

    @classmethod
    async def aclear_expired(cls):
        await _aquery(CLEANUP)
