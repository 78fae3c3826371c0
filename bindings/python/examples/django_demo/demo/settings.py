"""A small Django project whose sessions live in sessile."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "sessile-demo-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["django.contrib.sessions"]  # for `manage.py clearsessions`
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "demo.urls"
DATABASES = {}  # nothing here needs a database: sessions are in sessile
USE_TZ = True

# The two lines that make sessile Django's session store.
SESSION_ENGINE = "sessile.django"
SESSILE_PATH = os.environ.get("SESSILE_DEMO_PATH", str(BASE_DIR / "sessile-demo-django.db"))
