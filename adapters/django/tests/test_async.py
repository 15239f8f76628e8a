"""The engine's async methods, natively async: the same contract as the sync ones, on psycopg's
async connections, and never through Django's sync connection (which would need a thread per
call; Django refuses it from a running event loop anyway). The async middleware saves with
them."""

import asyncio
import hashlib
import json
import unittest
from unittest import mock

from django.contrib.sessions.backends.base import UpdateError
from django.http import HttpResponse
from django.test import AsyncRequestFactory

import varel_session_django.backend as backend
from varel_session_django.backend import SessionStore
from varel_session_django.middleware import SessionMiddleware


def no_sync_query(*args, **kwargs):
    raise AssertionError("an async method ran a statement on Django's sync connection")


@mock.patch.object(backend, "_query", no_sync_query)
class AsyncMethods(unittest.IsolatedAsyncioTestCase):
    async def test_save_load_exists_and_delete(self):
        session = SessionStore()
        await session.aset("cat", "meow")
        await session.asave()
        key = session.session_key
        self.assertRegex(key, "^[0-9a-f]{64}$")
        self.assertTrue(await session.aexists(key))
        other = SessionStore(key)
        self.assertEqual(await other.aget("cat"), "meow")
        await other.adelete()
        self.assertFalse(await session.aexists(key))
        self.assertEqual(await SessionStore(key).aget("cat"), None)

    async def test_a_save_writes_only_the_changed_keys(self):
        first = SessionStore()
        await first.aset("a", 1)
        await first.asave()
        key = first.session_key
        left, right = SessionStore(key), SessionStore(key)
        await left.aget("a"), await right.aget("a")
        await left.aset("left", True)
        await right.aset("right", True)
        await asyncio.gather(left.asave(), right.asave())
        self.assertEqual(await SessionStore(key).aitems(), {"a": 1, "left": True, "right": True}.items())

    async def test_aincr_is_atomic(self):
        session = SessionStore()
        self.assertEqual(await session.aincr("n"), 1)
        key = session.session_key

        async def bump():
            return await SessionStore(key).aincr("n")

        values = await asyncio.gather(*[bump() for _ in range(32)])
        self.assertEqual(sorted(values), list(range(2, 34)))

    async def test_acsrf_token_and_averify_csrf(self):
        session = SessionStore()
        self.assertFalse(await session.averify_csrf("0" * 64))
        token = await session.acsrf_token()
        self.assertTrue(await SessionStore(session.session_key).averify_csrf(token))
        self.assertFalse(await session.averify_csrf(token[:63] + "0"))
        derived = hashlib.sha256(f"varel_session csrf token:{session.session_key}".encode())
        self.assertEqual(token, derived.hexdigest())
        await session.acycle_key()
        self.assertNotEqual(await session.acsrf_token(), token)
        self.assertFalse(await session.averify_csrf(token))

    async def test_acycle_key_keeps_the_session_and_kills_the_old_key(self):
        session = SessionStore()
        await session.aset("x", 1)
        await session.asave()
        old = session.session_key
        await session.acycle_key()
        self.assertNotEqual(session.session_key, old)
        self.assertFalse(await session.aexists(old))
        self.assertEqual(await SessionStore(session.session_key).aget("x"), 1)

    async def test_a_session_logged_out_elsewhere_is_not_revived(self):
        session = SessionStore()
        await session.aset("x", 1)
        await session.asave()
        key = session.session_key
        loaded = SessionStore(key)
        self.assertEqual(await loaded.aget("x"), 1)  # the request has its session loaded
        await SessionStore(key).aflush()
        await loaded.aset("late", True)
        with self.assertRaises(UpdateError):
            await loaded.asave()
        self.assertFalse(await session.aexists(key))

    async def test_a_log_in_ties_the_user_and_rotates(self):
        session = SessionStore()
        await session.aset("cart", [1])
        await session.asave()
        old = session.session_key
        await session.aset("_auth_user_id", "4711")
        await session.asave()
        self.assertNotEqual(session.session_key, old)
        self.assertFalse(await session.aexists(old))

    async def test_aclear_expired_runs(self):
        await SessionStore.aclear_expired()


class AsyncMiddleware(unittest.IsolatedAsyncioTestCase):
    async def test_an_async_stack_saves_with_asave(self):
        async def view(request):
            request.session["visits"] = await request.session.aget("visits", 0) + 1
            return HttpResponse("ok")

        middleware = SessionMiddleware(view)
        factory = AsyncRequestFactory()
        with mock.patch.object(backend, "_query", no_sync_query):
            response = await middleware(factory.get("/"))
            key = response.cookies["sessionid"].value
            request = factory.get("/")
            request.COOKIES["sessionid"] = key
            await middleware(request)
        row = await backend._aquery("SELECT data::text FROM varel_session.session_get(%s)", [key])
        self.assertEqual(json.loads(row[0]), {"visits": 2})


if __name__ == "__main__":
    unittest.main()
