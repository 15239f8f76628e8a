"""What the Flask and Starlette adapters of varel_session share: a session as a dict that knows
what its request changed, and the one statement that saves it.

The adapters differ only in how they run statements (psycopg's sync or async connections) and
in how they meet their framework; everything about what a save writes is here, once:

- a save sends only the keys the request changed, as one merge patch built on the server from
  the row's newest version, so concurrent requests of one browser that change different keys
  both land (a value set to JSON null cannot go into a merge patch, which would remove the
  key: such a save replaces all of the data instead);
- a log-in (``log_in``) rotates the token and ties the session to the user, in the same
  statement as the data;
- a save never recreates a session that ended meanwhile (logged out elsewhere, revoked,
  expired): ``applied`` says so, and the adapter drops the cookie;
- a new session is stored only once it holds something: a request with a bad cookie that
  writes nothing stores nothing.
"""

import json

__all__ = ["Session", "Statement", "LOAD", "INCR", "dumps", "load_statement", "save_statement",
           "incr_statement", "applied"]

LOAD = "SELECT data::text, user_id FROM varel_session.session_load(%s)"
INCR = "SELECT varel_session.session_incr(%s, %s, %s)"


def dumps(value):
    """A value's JSON text, keys sorted: the stored data comes back in jsonb's key order, and an
    unchanged nested object must compare equal whatever order the app built it in."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class Session(dict):
    """A session's data as the framework's handlers see it (a dict), and what the request did
    to it. ``token`` is the extension's token (None for a session not stored yet)."""

    def __init__(self, data=None, token=None, user_id=None):
        super().__init__(data or {})
        self.token = token
        # The token the request came with: the cookie changes when ``token`` differs from it.
        self.presented = token
        self.user_id = user_id
        self.modified = False
        # The data as the database last had it (each value as its JSON text).
        self._stored = {key: dumps(value) for key, value in (data or {}).items()}
        self._pending = None
        self._max_age = None

    # The dict's writes mark the session modified.
    def __setitem__(self, key, value):
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self.modified = True
        super().__delitem__(key)

    def clear(self):
        self.modified = True
        super().clear()

    def pop(self, key, *default):
        self.modified = True
        return super().pop(key, *default)

    def popitem(self):
        self.modified = True
        return super().popitem()

    def setdefault(self, key, default=None):
        if key not in self:
            self.modified = True
        return super().setdefault(key, default)

    def update(self, *args, **kwargs):
        self.modified = True
        super().update(*args, **kwargs)

    # What the request asks of the session's identity; applied when the response goes out.
    def log_in(self, user_id, max_age=None):
        """Logs ``user_id`` in: the token rotates (against session fixation) and the session is
        tied to the user (its devices, log-out everywhere, the per-user cap). ``max_age`` (in
        seconds) gives this session a lifetime of its own ("remember me")."""
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise TypeError("user_id must be an integer")
        self._pending = ("log_in", user_id, max_age)
        self.modified = True

    def log_out(self):
        """Ends the session: its data goes, the cookie is removed."""
        self._pending = ("log_out",)
        super().clear()
        self.modified = True

    def regenerate(self):
        """A new token for the same session (data and user kept); the old one stops working."""
        if self._pending is None:
            self._pending = ("regenerate",)
        self.modified = True

    def set_max_age(self, seconds):
        """Gives the session a new idle lifetime, from now."""
        self._max_age = int(seconds)
        self.modified = True

    @property
    def pending(self):
        return self._pending

    def changes(self):
        """The keys whose values differ from the stored ones, and the keys that went away."""
        changed = {k: v for k, v in self.items() if self._stored.get(k) != dumps(v)}
        removed = [k for k in self._stored if k not in self]
        return changed, removed

    def stored_now(self, token, user_id):
        """What the database has after a save: this data, under ``token``."""
        self.token = token
        self.user_id = user_id
        self._stored = {key: dumps(value) for key, value in self.items()}
        self._pending = None
        self._max_age = None
        self.modified = False


class Statement:
    """One SQL statement with its parameters, and what its row means (``kind``)."""

    def __init__(self, sql, params, kind):
        self.sql = sql
        self.params = params
        self.kind = kind


def load_statement(cookie):
    return Statement(LOAD, [cookie], "load")


def incr_statement(session, key, by=1):
    return Statement(INCR, [session.token, key, by], "incr")


def _interval(seconds):
    return max(int(seconds), 1)


def save_statement(session, max_age, create=False):
    """The statement that saves what the request did to ``session`` (``max_age``: the idle
    lifetime of a new session, in seconds), or None when there is nothing to write. With
    ``create``, a new session is stored even while it holds nothing (before an atomic
    operation on it)."""
    pending = session.pending
    if pending is not None and pending[0] == "log_out":
        if session.token is None:
            return None
        return Statement("SELECT varel_session.session_destroy(%s)", [session.token], "destroy")
    logging_in = pending is not None and pending[0] == "log_in"
    if session.token is None:
        # Stored only once it holds something, or a user.
        if not session and not logging_in and not create:
            return None
        user_id = pending[1] if logging_in else None
        lifetime = (pending[2] if logging_in and pending[2] else None) or session._max_age or max_age
        return Statement(
            "SELECT varel_session.session_new(max_age => make_interval(secs => %s), "
            "user_id => %s, data => %s::jsonb)",
            [_interval(lifetime), user_id, dumps(dict(session))], "new")
    if not session.modified:
        return None
    changed, removed = session.changes()
    if any(value is None for value in changed.values()):
        # A JSON null in a merge patch removes the key: replace the whole data instead.
        write, payload = "varel_session.session_set_data(t.id, %s::jsonb)", dumps(dict(session))
    elif changed or removed:
        patch = dict(changed)
        patch.update({key: None for key in removed})
        write, payload = "varel_session.session_set(t.id, %s::jsonb)", dumps(patch)
    else:
        write, payload = "%s::text IS NULL", None
    # One statement: a rotation first (a log-in, or a regenerate), then the changed keys, then a
    # new lifetime, all on the session the (new) token names.
    if logging_in:
        rotate = "varel_session.session_set_user(%s, %s, make_interval(secs => %s))"
        rotate_params = [session.token, pending[1], _interval(pending[2] or session._max_age or max_age)]
        lifetime = None  # the log-in set it
    elif pending is not None and pending[0] == "regenerate":
        rotate, rotate_params, lifetime = "varel_session.session_regenerate(%s)", [session.token], session._max_age
    else:
        rotate, rotate_params, lifetime = "%s::text", [session.token], session._max_age
    return Statement(
        f"WITH t AS (SELECT {rotate} AS id) "
        f"SELECT t.id, {write}, "
        "CASE WHEN %s::integer IS NOT NULL THEN varel_session.session_set_max_age("
        "t.id, make_interval(secs => %s::integer)) IS NOT NULL END FROM t",
        rotate_params + [payload, lifetime, lifetime], "save")


def applied(session, statement, row):
    """Updates ``session`` from the row ``statement`` returned; False when the session ended
    meanwhile (nothing was written, and it stays ended)."""
    if statement.kind == "destroy":
        session.stored_now(None, None)
        return True
    if statement.kind == "new":
        pending = session.pending
        session.stored_now(row[0], pending[1] if pending and pending[0] == "log_in" else None)
        return True
    token, written, _ = row
    if token is None or not written:
        return False
    pending = session.pending
    user_id = pending[1] if pending is not None and pending[0] == "log_in" else session.user_id
    session.stored_now(token, user_id)
    return True
