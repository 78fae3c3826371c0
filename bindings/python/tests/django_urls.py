"""Views the Django backend tests drive through real SessionMiddleware."""

import threading

from django.contrib.auth import get_user_model
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.http import HttpResponse, JsonResponse
from django.urls import path

from sessile.django import SessionStore, end_other_sessions, get_engine, sessions_of

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


# -- log out everywhere (test_django_owners.py)


def whoami(request):
    """Who the request's session says it is; ``?write=1`` also stores a value."""
    if request.GET.get("write"):
        request.session["wrote"] = True
    user = request.user.get_username() if request.user.is_authenticated else None
    return JsonResponse({"user": user, "key": request.session.session_key})


def sign_out_other_devices(request):
    return JsonResponse({"ended": end_other_sessions(request)})


def active_sessions(request):
    return JsonResponse({"sessions": [
        {"current": s.key == request.session.session_key, "expires_at": s.expires_at.isoformat()}
        for s in sessions_of(request.user)
    ]})


def set_password_of(request, username):
    """An administrator's password change for another user, or the user's own
    without update_session_auth_hash."""
    user = get_user_model().objects.get(username=username)
    user.set_password("changed-by-a-view")
    user.save()
    return HttpResponse("ok")


def signed_out_while_writing(request, keep):
    request.session.get("a")  # this request has loaded its session
    # The device whose session is `keep` signs out every other one while
    # this request runs.
    get_engine().end_sessions_of(request.user.pk, except_key=keep)
    request.session["late"] = "write"
    return HttpResponse("ok")


urlpatterns = [
    path("login/", LoginView.as_view()),
    path("password_change/", PasswordChangeView.as_view(success_url="/whoami/")),
    path("whoami/", whoami),
    path("sign-out-other-devices/", sign_out_other_devices),
    path("active-sessions/", active_sessions),
    path("set-password/<str:username>/", set_password_of),
    path("signed-out-while-writing/<str:keep>/", signed_out_while_writing),
    path("parallel/<str:name>/", parallel),
    path("set/<str:name>/<str:value>/", set_value),
    path("show/", show),
    path("logout-elsewhere/", logout_elsewhere_then_write),
    path("login-after-logout-elsewhere/", logout_elsewhere_then_login),
    path("flush/", flush),
]
