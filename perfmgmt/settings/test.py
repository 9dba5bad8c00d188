"""Settings for pytest: the same database and broker choice as local, faster hashing."""

import tempfile

from .local import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests that exercise lockout turn axes on themselves, with their own limits.
AXES_ENABLED = True
# Each test starts from an empty cache of its own process (conftest clears it).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Static files are served from the finders in tests; nothing is collected.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

if not REDIS_URL:  # noqa: F405
    # Each test run gets its own file-broker folder, so a developer's `make run` queue is untouched.
    import tempfile

    _broker = Path(tempfile.mkdtemp(prefix="perfmgmt-test-broker-"))  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = file_broker_options(_broker)  # noqa: F405
    CELERY_RESULT_BACKEND = f"file://{_broker / 'results'}"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, as `make run` uses, not Django's shared-cache in-memory database: there, concurrent
    # writers fail at once with "table is locked" instead of waiting, unlike any real install.
    import os
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"perfmgmt-test-{os.getpid()}.sqlite3")
    }

# Uploaded files of a test run go to a throwaway folder, not the developer's var/media.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="perfmgmt-test-media-"))  # noqa: F405
