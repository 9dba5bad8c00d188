"""Development and the embedded default used by `make run`: DEBUG on, a throwaway secret."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Only for local use; production.py refuses to start without DJANGO_SECRET_KEY.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret-0123456789abcdef")
