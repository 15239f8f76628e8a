"""A tiny Django app for the end-to-end test: log in, a counter, log out."""

from django.http import HttpResponse, JsonResponse
from django.urls import path


def log_in(request):
    # What django.contrib.auth.login does with the session: a new key, then the user's id.
    request.session.cycle_key()
    request.session["_auth_user_id"] = request.GET["user"]
    return HttpResponse("ok")


def count(request):
    return JsonResponse({"visits": request.session.incr("visits")})


def me(request):
    return JsonResponse({"user": request.session.get("_auth_user_id"),
                         "visits": request.session.get("visits", 0),
                         "note": request.session.get("note")})


def note(request):
    request.session["note"] = request.GET["text"]
    return HttpResponse("ok")


def log_out(request):
    request.session.flush()
    return HttpResponse("ok")


urlpatterns = [
    path("login", log_in),
    path("count", count),
    path("me", me),
    path("note", note),
    path("logout", log_out),
]
