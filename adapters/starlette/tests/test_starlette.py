"""The Starlette adapter's promises, through httpx's ASGI transport and real connections: only
hashes stored, sessions stored once they hold something, per-key merges under concurrency,
log-in rotates, log-out ends, atomic counters, nothing revived, bad cookies are no session;
and the same middleware under FastAPI."""

import asyncio
import os
import unittest

import httpx
import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from varel_session_starlette import VarelSessionMiddleware

DSN = os.environ["VAREL_ADAPTERS_DSN"]


def admin(sql, params=()):
    with psycopg.connect(DSN, autocommit=True) as connection:
        return connection.execute(sql, params).fetchone()


def rows():
    return admin("SELECT count(*) FROM varel_session.sessions")[0]


def make_app(gate):
    async def read(request: Request):
        return JSONResponse(dict(request.session))

    async def set_keys(request: Request):
        for key, value in (await request.json()).items():
            request.session[key] = value
        if "barrier" in gate:
            await gate["barrier"].wait()
        return Response(status_code=204)

    async def login(request: Request):
        request.session.log_in(int(request.path_params["user_id"]))
        return Response(status_code=204)

    async def logout(request: Request):
        request.session.log_out()
        return Response(status_code=204)

    async def incr(request: Request):
        return JSONResponse(await request.session.incr("n"))

    app = Starlette(routes=[
        Route("/read", read), Route("/set", set_keys, methods=["POST"]),
        Route("/login/{user_id:int}", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]), Route("/incr", incr, methods=["POST"]),
    ])
    app.add_middleware(VarelSessionMiddleware, conninfo=DSN)
    return app


class StarletteAdapter(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.gate = {}
        self.app = make_app(self.gate)
        self.client = self.browser()

    def browser(self):
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://test")

    async def asyncTearDown(self):
        await self.client.aclose()
        middleware = self.app.middleware_stack
        while middleware is not None and not isinstance(middleware, VarelSessionMiddleware):
            middleware = getattr(middleware, "app", None)
        if middleware is not None and middleware.pool is not None:
            await middleware.pool.close()

    async def test_only_a_hash_is_stored_and_only_once_the_session_holds_something(self):
        before = rows()
        await self.client.get("/read")
        self.assertIsNone(self.client.cookies.get("session"))
        self.assertEqual(rows(), before)
        await self.client.post("/set", json={"a": 1})
        token = self.client.cookies.get("session")
        self.assertRegex(token, "^[0-9a-f]{64}$")
        self.assertEqual(rows(), before + 1)
        self.assertEqual(admin("SELECT count(*) FROM varel_session.sessions WHERE token_hash = sha256(decode(%s, 'hex'))", (token,))[0], 1)
        self.assertEqual((await self.client.get("/read")).json(), {"a": 1})

    async def test_concurrent_requests_changing_different_keys_both_land(self):
        await self.client.post("/set", json={"a": 0})
        token = self.client.cookies.get("session")
        for round_ in range(10):
            self.gate["barrier"] = asyncio.Barrier(2)
            results = await asyncio.gather(*[
                self.client.post("/set", json={key: round_}, cookies={"session": token})
                for key in ("left", "right")])
            self.assertEqual([r.status_code for r in results], [204, 204])
            data = (await self.client.get("/read")).json()
            self.assertEqual((data["left"], data["right"], data["a"]), (round_, round_, 0), data)
        self.gate.pop("barrier")

    async def test_log_in_rotates_the_token_and_ties_the_user(self):
        await self.client.post("/set", json={"cart": [1]})
        before = self.client.cookies.get("session")
        await self.client.post("/login/6150")
        after = self.client.cookies.get("session")
        self.assertNotEqual(before, after)
        self.assertIsNone(admin("SELECT user_id FROM varel_session.session_get(%s)", (before,)))
        self.assertEqual(admin("SELECT user_id, data->'cart' FROM varel_session.session_get(%s)", (after,)), (6150, [1]))

    async def test_log_out_ends_the_session_and_removes_the_cookie(self):
        await self.client.post("/login/6151")
        token = self.client.cookies.get("session")
        await self.client.post("/logout")
        self.assertIn(self.client.cookies.get("session"), (None, "null"))
        self.assertIsNone(admin("SELECT 1 FROM varel_session.session_get(%s)", (token,)))

    async def test_incr_is_atomic_under_concurrency_and_stores_a_new_session_first(self):
        self.assertEqual((await self.client.post("/incr")).json(), 1)
        token = self.client.cookies.get("session")
        results = await asyncio.gather(*[
            self.client.post("/incr", cookies={"session": token}) for _ in range(64)])
        self.assertEqual({r.status_code for r in results}, {200})
        self.assertEqual((await self.client.get("/read")).json()["n"], 65)

    async def test_a_session_logged_out_elsewhere_is_not_revived(self):
        await self.client.post("/set", json={"a": 1})
        token = self.client.cookies.get("session")
        self.gate["barrier"] = asyncio.Barrier(2)
        pending = asyncio.create_task(self.client.post("/set", json={"late": True}))
        await asyncio.sleep(0.2)  # the request has loaded the session and waits at the barrier
        admin("SELECT varel_session.session_destroy(%s)", (token,))
        await self.gate["barrier"].wait()
        self.assertEqual((await pending).status_code, 204)
        self.gate.pop("barrier")
        self.assertIsNone(admin("SELECT 1 FROM varel_session.sessions WHERE token_hash = sha256(decode(%s, 'hex'))", (token,)))

    async def test_a_bad_cookie_is_no_session_and_stores_nothing(self):
        before = rows()
        for value in ["x", "0" * 64, "A" * 8192, '"quoted', "a=b; c"]:
            response = await self.browser().get("/read", headers={"cookie": f"session={value}"})
            self.assertEqual((response.status_code, response.json()), (200, {}))
        self.assertEqual(rows(), before)


class FastAPIApp(unittest.IsolatedAsyncioTestCase):
    """The same middleware under FastAPI, whose ``request.session`` is Starlette's."""

    async def test_a_fastapi_app_logs_in_counts_and_logs_out(self):
        from fastapi import FastAPI

        app = FastAPI()
        app.add_middleware(VarelSessionMiddleware, conninfo=DSN)

        @app.post("/login/{user_id}")
        async def login(user_id: int, request: Request):
            request.session.log_in(user_id)
            return {"user_id": user_id}

        @app.get("/me")
        async def me(request: Request):
            return {"user_id": request.session.user_id, "visits": await request.session.incr("visits")}

        @app.post("/logout")
        async def logout(request: Request):
            request.session.log_out()
            return {}

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            self.assertEqual((await client.post("/login/7150")).json(), {"user_id": 7150})
            token = client.cookies.get("session")
            results = await asyncio.gather(*[client.get("/me", cookies={"session": token}) for _ in range(16)])
            self.assertEqual(sorted(r.json()["visits"] for r in results), list(range(1, 17)))
            self.assertEqual({r.json()["user_id"] for r in results}, {7150})
            await client.post("/logout", cookies={"session": token})
            self.assertIsNone(admin("SELECT 1 FROM varel_session.session_get(%s)", (token,)))


if __name__ == "__main__":
    unittest.main()
