"""Views the Django backend tests drive through real SessionMiddleware."""

import threading

from django.http import HttpResponse, JsonResponse
from django.urls import path

from sessile.django import SessionStore

# Set by a test: every request to /parallel/ waits here after loading its
# session and before changing it, so all of them load before any saves.
parallel_barrier: threading.Barrier | None = None


def parallel(request, name):
    request.session.get("seed")  # load now
    if parallel_barrier is not None:
        parallel_barrier.wait(timeout=30)
    request.session[name] = True
    return HttpResponse("ok")


def set_value(request, name, value):
    request.session[name] = value
    return HttpResponse("ok")


def show(request):
    return JsonResponse({"key": request.session.session_key, "data": dict(request.session.items())})


def logout_elsewhere_then_write(request):
    request.session.get("a")  # this request has loaded its session
    # Another request (another tab) logs out while this one still runs.
    SessionStore(request.session.session_key).delete()
    request.session["late"] = "write"
    return HttpResponse("ok")


def logout_elsewhere_then_login(request):
    request.session.get("a")  # this request has loaded its session
    # Another tab logs out while this request logs in (django.contrib.auth's
    # login cycles the key, against session fixation).
    SessionStore(request.session.session_key).flush()
    request.session.cycle_key()
    request.session["user"] = "alice"
    return HttpResponse("ok")


def flush(request):
    request.session.flush()
    return HttpResponse("ok")


urlpatterns = [
    path("parallel/<str:name>/", parallel),
    path("set/<str:name>/<str:value>/", set_value),
    path("show/", show),
    path("logout-elsewhere/", logout_elsewhere_then_write),
    path("login-after-logout-elsewhere/", logout_elsewhere_then_login),
    path("flush/", flush),
]
