"""Login, logout and a visit counter: the flow of a typical sessions tutorial."""

from django.http import HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.utils.html import escape
from django.views.decorators.http import require_http_methods

PAGE = """<!doctype html><title>sessile demo</title>
<h1>sessile + Django sessions</h1>
<p>{body}</p>
<p><small>session key: <code>{key}</code></small></p>"""


def page(request, body):
    key = escape(request.session.session_key or "(none yet)")
    return HttpResponse(PAGE.format(body=body, key=key))


def home(request):
    visits = request.session.get("visits", 0) + 1
    request.session["visits"] = visits
    user = request.session.get("username")
    if user:
        who = (f'Hello, <b id="user">{escape(user)}</b>. '
               f'<form method="post" action="/logout/">{csrf(request)}<button>Log out</button></form>')
    else:
        who = 'You are not logged in. <a href="/login/">Log in</a>'
    return page(request, f'Visits this session: <b id="visits">{visits}</b>. {who}')


@require_http_methods(["GET", "POST"])
def login(request):
    if request.method == "POST":
        name = request.POST.get("username", "").strip()
        if name:
            # A new key at login, so a key planted before login is worthless
            # (session fixation); the data (the visit count) moves along.
            request.session.cycle_key()
            request.session["username"] = name
            return HttpResponseRedirect("/")
    return page(request, f'<form method="post">{csrf(request)}'
                         '<input name="username" placeholder="name" autofocus> '
                         '<button>Log in</button></form>')


@require_http_methods(["POST"])
def logout(request):
    # Deletes the stored session and the cookie (Django's logout does this).
    request.session.flush()
    return HttpResponseRedirect("/")


def csrf(request):
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{get_token(request)}">'
