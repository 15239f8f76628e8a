"""The example app of the shared contract (tests/examples/contract.py) on Starlette: handlers
use ``request.session``, kept by the varel_session extension, async on psycopg 3.

    DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel PORT=3000 adapters/starlette/example/run
"""

import os

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from varel_session_starlette import VarelSessionMiddleware

pool = AsyncConnectionPool(os.environ["DATABASE_URL"], min_size=2, max_size=20, open=False)


def unauthorized():
    return JSONResponse({"error": "not logged in"}, status_code=401)


async def login(request: Request):
    user_id = int((await request.json())["user_id"])
    # Rotates the token (against session fixation) and ties the session to the user.
    request.session.log_in(user_id)
    return JSONResponse({"user_id": user_id})


async def me(request: Request):
    session = request.session
    if session.user_id is None:
        return unauthorized()
    # Counted on the server in one update: concurrent requests never lose a visit.
    visits = await session.incr("visits")
    if visits is None:
        return unauthorized()
    return JSONResponse({"user_id": session.user_id, "visits": visits})


async def sessions(request: Request):
    session = request.session
    if session.user_id is None:
        return unauthorized()
    async with pool.connection() as connection:
        current = (await (await connection.execute(
            "SELECT varel_session.session_handle(%s)", [session.token])).fetchone())[0]
        listing = await (await connection.execute(
            "SELECT handle, extract(epoch FROM created_at)::bigint, host(ip), user_agent "
            "FROM varel_session.session_user_sessions(%s)", [session.user_id])).fetchall()
    return JSONResponse([
        {"handle": handle, "created_at": created, "ip": ip, "user_agent": agent,
         "current": handle == current}
        for handle, created, ip, agent in listing
    ])


async def logout(request: Request):
    request.session.log_out()
    return Response(status_code=204)


async def logout_all(request: Request):
    session = request.session
    if session.user_id is None:
        return unauthorized()
    async with pool.connection() as connection:
        ended = (await (await connection.execute(
            "SELECT varel_session.session_user_revoke(%s)", [session.user_id])).fetchone())[0]
    session.log_out()
    return JSONResponse({"ended": ended})


async def lifespan(app):
    await pool.open()
    yield
    await pool.close()


app = Starlette(
    routes=[
        Route("/login", login, methods=["POST"]),
        Route("/me", me),
        Route("/sessions", sessions),
        Route("/logout", logout, methods=["POST"]),
        Route("/logout-all", logout_all, methods=["POST"]),
    ],
    lifespan=lifespan,
)
# Plain HTTP on loopback in this example; behind HTTPS, pass https_only=True.
app.add_middleware(VarelSessionMiddleware, pool=pool)
