"""Settings: production refuses to start without a secret and passes Django's deploy checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    # Point the .env loader at nothing, so a developer's own .env cannot make the test pass.
    base["DJANGO_ENV_FILE"] = str(ROOT / "tests" / "no-such.env")
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def _example_env() -> dict[str, str]:
    parsed: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            parsed[key.strip()] = value.strip()
    return parsed


def test_production_refuses_to_start_without_a_secret_key():
    result = _run(
        ["manage.py", "check"],
        {"DJANGO_SETTINGS_MODULE": "perfmgmt.settings.production", "DJANGO_SECRET_KEY": ""},
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_passes_check_deploy_with_the_example_environment():
    env = _example_env()
    assert env["DJANGO_SECRET_KEY"] == "", ".env.example must not ship a usable secret"
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    env["DJANGO_SETTINGS_MODULE"] = "perfmgmt.settings.production"
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_every_variable_the_settings_read_is_in_the_example_and_the_readme():
    import re

    read = set()
    for path in (ROOT / "perfmgmt" / "settings").glob("*.py"):
        read |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', path.read_text(encoding="utf-8")))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing_from_readme = sorted(name for name in read if name not in readme)
    assert not missing_from_readme
    # Development-only switches need not appear in the production example.
    dev_only = {
        "DJANGO_DEBUG",
        "DJANGO_ENV_FILE",
        "CELERY_TASK_ALWAYS_EAGER",
        "PERFMGMT_VAR_DIR",
        "MEDIA_ROOT",
        "DATABASE_CONN_MAX_AGE",
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "DJANGO_SECURE_HSTS_PRELOAD",
    }
    assert sorted(read - dev_only - set(_example_env())) == []
