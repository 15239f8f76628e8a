"""The example app of the shared contract (tests/examples/contract.py) on Django, as an ASGI app
with async views: the session engine's async methods and the async session middleware, on
psycopg's async connections.

    DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel PORT=3000 adapters/django/example/run
"""

import json
import os
from urllib.parse import unquote, urlsplit, parse_qs

import django
from django.conf import settings


def database_from_url(url):
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.get("host", parts.hostname or ""),
        "PORT": str(query.get("port", parts.port or "")),
    }


settings.configure(
    DEBUG=False,
    SECRET_KEY="the example app's: sessions need no secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    DATABASES={"default": database_from_url(os.environ["DATABASE_URL"])},
    SESSION_ENGINE="varel_session_django.backend",
    # Plain HTTP on loopback in this example; behind HTTPS, keep SESSION_COOKIE_SECURE on.
    SESSION_COOKIE_SECURE=False,
    MIDDLEWARE=["varel_session_django.middleware.SessionMiddleware"],
    ROOT_URLCONF=__name__,
    USE_TZ=True,
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

from varel_session_django.backend import _aquery  # noqa: E402

USER = "_auth_user_id"  # where django.contrib.auth keeps the logged-in user


def unauthorized():
    return JsonResponse({"error": "not logged in"}, status=401)


async def user_of(request):
    value = await request.session.aget(USER)
    return int(value) if value is not None else None


@require_POST
async def login(request):
    user_id = int(json.loads(request.body)["user_id"])
    # What django.contrib.auth.login does: a new key (against session fixation), then the
    # user's id, which the engine ties the session to when it saves.
    await request.session.acycle_key()
    await request.session.aset(USER, str(user_id))
    return JsonResponse({"user_id": user_id})


@require_GET
async def me(request):
    user_id = await user_of(request)
    if user_id is None:
        return unauthorized()
    # Counted on the server in one update: concurrent requests never lose a visit.
    return JsonResponse({"user_id": user_id, "visits": await request.session.aincr("visits")})


@require_GET
async def sessions(request):
    user_id = await user_of(request)
    if user_id is None:
        return unauthorized()
    current = (await _aquery("SELECT varel_session.session_handle(%s)", [request.session.session_key]))[0]
    rows = await _aquery(
        "SELECT coalesce(json_agg(json_build_object('handle', handle, "
        "'created_at', extract(epoch FROM created_at)::bigint, 'ip', host(ip), "
        "'user_agent', user_agent, 'current', handle = %s)), '[]') "
        "FROM varel_session.session_user_sessions(%s)", [current, user_id])
    return JsonResponse(rows[0], safe=False)


@require_POST
async def logout(request):
    await request.session.aflush()
    return HttpResponse(status=204)


@require_POST
async def logout_all(request):
    user_id = await user_of(request)
    if user_id is None:
        return unauthorized()
    ended = (await _aquery("SELECT varel_session.session_user_revoke(%s)", [user_id]))[0]
    await request.session.aflush()
    return JsonResponse({"ended": ended})


urlpatterns = [
    path("login", login),
    path("me", me),
    path("sessions", sessions),
    path("logout", logout),
    path("logout-all", logout_all),
]

application = get_asgi_application()
