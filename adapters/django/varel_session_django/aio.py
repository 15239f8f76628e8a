"""Async connections for the session engine's async methods: psycopg's async API on a pool per
event loop, to the database of the ``DATABASES`` entry Django's own connection uses (Django's
connections are sync, and calling them from a coroutine would need a thread per call).

The pool of a loop is made on its first use and closed when the loop closes; a loop that is
gone leaves nothing behind but its entry, removed on the next use of another loop.
"""

import asyncio
import weakref

import psycopg
from django.db import connections
from psycopg_pool import AsyncConnectionPool

# Each event loop gets its own pool: an async connection belongs to the loop it was made on.
_pools = weakref.WeakKeyDictionary()
POOL_SIZE = 10


def _conninfo(alias):
    """A libpq connection string for Django's ``DATABASES[alias]``."""
    parameters = connections[alias].get_connection_params()
    allowed = {"dbname", "host", "port", "user", "password", "sslmode", "sslrootcert",
               "sslcert", "sslkey", "options", "application_name", "connect_timeout",
               "target_session_attrs", "passfile", "service"}
    pairs = {key: value for key, value in parameters.items()
             if key in allowed and value not in (None, "")}
    return psycopg.conninfo.make_conninfo(**{key: str(value) for key, value in pairs.items()})


async def _pool(alias):
    loop = asyncio.get_running_loop()
    pools = _pools.setdefault(loop, {})
    pool = pools.get(alias)
    if pool is None:
        pool = AsyncConnectionPool(_conninfo(alias), min_size=1, max_size=POOL_SIZE, open=False,
                                   kwargs={"autocommit": True})
        pools[alias] = pool
        await pool.open()
    return pool


async def query(alias, sql, params=()):
    """Runs one statement (autocommit) and returns its first row, or None."""
    pool = await _pool(alias)
    async with pool.connection() as connection:
        cursor = await connection.execute(sql, params)
        return await cursor.fetchone() if cursor.description else None
