"""Settings of the worker, beat and command processes the fault tests start: the test run's own
database, broker, result store and media folder (passed by tests/faults/conftest.py), where
perfmgmt.settings.test would give each process fresh temporary ones."""

import json
import os
from pathlib import Path

from perfmgmt.settings.test import *  # noqa: F403
from perfmgmt.settings.test import DATABASES, REDIS_URL

DATABASES["default"]["NAME"] = os.environ["FAULTS_DATABASE_NAME"]
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = json.loads(os.environ["FAULTS_BROKER_OPTIONS"])
    CELERY_RESULT_BACKEND = os.environ["FAULTS_RESULT_BACKEND"]
# The beat's leader lock file (without Redis) lives here: shared by the beats of one test only.
CELERY_BROKER_DIR = Path(os.environ["FAULTS_DIR"])
MEDIA_ROOT = Path(os.environ["FAULTS_MEDIA_ROOT"])
CELERY_IMPORTS = ["tests.faults.tasks"]
