"""Django settings for the test suite: sessile as SESSION_ENGINE, and Django's
own ``sessions_tests`` app from the Django source distribution that
``make test`` downloads (DJANGO_TESTS_DIR)."""

import os
import sys
import tempfile
from pathlib import Path

import django

_default_tests = Path(__file__).resolve().parents[3] / ".cache" / f"django-{django.__version__}" / "tests"
DJANGO_TESTS_DIR = Path(os.environ.get("DJANGO_TESTS_DIR", _default_tests))
HAVE_DJANGO_TESTS = (DJANGO_TESTS_DIR / "sessions_tests" / "tests.py").is_file()
if HAVE_DJANGO_TESTS and str(DJANGO_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(DJANGO_TESTS_DIR))

SECRET_KEY = "sessile-tests-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    # The app as well as the engine: a password change ends the user's
    # other sessions (test_django_owners.py).
    "sessile.django",
] + (["sessions_tests"] if HAVE_DJANGO_TESTS else [])
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
# Logins and password changes in a blink (the default hasher takes ~0.3 s).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ROOT_URLCONF = "django_urls"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
SESSION_ENGINE = "sessile.django"
SESSILE_PATH = os.path.join(tempfile.mkdtemp(prefix="sessile-django-tests-"), "sessions.db")
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
