"""Development and the embedded default used by `make run`: DEBUG on, a throwaway secret.

`make run` (bin/serve) serves with DJANGO_DEBUG=false unless told otherwise, so that a new user
sees the site's own error pages; static files are then served by whitenoise from the same
folders (the finders) as in development, without a collectstatic.
"""

import warnings

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Only for local use; production.py refuses to start without DJANGO_SECRET_KEY.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret-0123456789abcdef")
WHITENOISE_USE_FINDERS = True
# With DEBUG off, whitenoise warns at start that STATIC_ROOT (staticfiles/, for collectstatic)
# does not exist: expected here, where nothing is collected.
warnings.filterwarnings("ignore", message=r"No directory at: .*staticfiles")
