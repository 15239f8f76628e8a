"""Moving sessions between Django's database backend and varel_session (docs/moving.md).

``import_sessions`` copies every live session of ``django_session`` (what
``django.contrib.sessions.backends.db`` and ``cached_db`` store) into the extension's imported
sessions, decoded with Django's own code (so the signature is checked with ``SECRET_KEY``),
under a hash of the old key. Once ``SESSION_ENGINE`` is this adapter's and
``VAREL_SESSION_IMPORTED_FROM = "django"``, the first request with an old cookie gets its session
under a new key (``backend.SessionStore.load``). It runs against the live database while the old
backend keeps serving, and may run again: a re-run refreshes what changed and ends what the old
table no longer holds (a log-out there).

``export_sessions`` writes every live session back into ``django_session``, under new keys.

Both need the extension owner's rights: run them on a ``DATABASES`` alias that connects as the
role that created the extension (the application's role gets "permission denied").
"""

import json

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.db import connections, transaction
from django.utils.crypto import get_random_string

from .backend import _dumps, _user_id

STORE = "django"

READ_BATCH = """
    SELECT session_key, session_data, expire_date FROM django_session
    WHERE session_key > %s AND expire_date > now()
    ORDER BY session_key LIMIT %s
"""
IMPORT_BATCH = """
    SELECT count(*) FILTER (WHERE varel_session.session_import(
               %s, t.key, t.data::jsonb, t.expires, t.user_id, %s,
               make_interval(secs => t.max_age)))
    FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::bigint[], %s::float8[])
         AS t(key, data, expires, user_id, max_age)
"""


def import_sessions(using="default", accept_until=None, batch_size=500):
    """Imports the live sessions of ``django_session``; returns a dict of counts: ``imported``,
    ``skipped`` (empty, corrupted, or not JSON: Django's PickleSerializer), ``ended`` (in an
    earlier run but no longer in the old table)."""
    codec = DatabaseStore()
    counts = {"imported": 0, "skipped": 0, "ended": 0}
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        started = cursor.fetchone()[0]
        last = ""
        while True:
            cursor.execute(READ_BATCH, [last, batch_size])
            rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            batch = ([], [], [], [], [])
            for key, encoded, expires in rows:
                data = codec.decode(encoded)
                try:
                    text = _dumps(data)
                except (TypeError, ValueError):
                    text = None
                if not data or text is None:
                    counts["skipped"] += 1
                    continue
                # The idle lifetime the session had: its own expiry, else SESSION_COOKIE_AGE.
                max_age = max(codec.get_expiry_age(expiry=data.get("_session_expiry")), 1)
                for column, value in zip(batch, (key, text, expires, _user_id(data), max_age)):
                    column.append(value)
            if batch[0]:
                with transaction.atomic(using):
                    cursor.execute(IMPORT_BATCH, [STORE, accept_until, *batch])
                    counts["imported"] += cursor.fetchone()[0]
        cursor.execute("SELECT varel_session.session_import_prune(%s, %s)", [STORE, started])
        counts["ended"] = cursor.fetchone()[0]
    return counts


def export_sessions(using="default"):
    """Writes every live varel_session session into ``django_session`` under a new key (data,
    log-in and expiry kept); returns how many. The browsers' cookies name varel_session's keys,
    which only their hashes record, so an exported session is reached only by its new key."""
    codec = DatabaseStore()
    exported = 0
    with transaction.atomic(using), connections[using].cursor() as cursor:
        cursor.execute("SELECT data::text, expires_at FROM varel_session.session_export()")
        for text, expires in cursor.fetchall():
            key = get_random_string(32, VALID_KEY_CHARS)
            with connections[using].cursor() as insert:
                insert.execute(
                    "INSERT INTO django_session (session_key, session_data, expire_date) "
                    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    [key, codec.encode(json.loads(text)), expires])
                exported += insert.rowcount
    return exported
