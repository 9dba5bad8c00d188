"""docker-compose.yml and the Dockerfile: no Docker engine runs here, so check what can be checked:
the files parse, every service is there with a health check, and every command they run exists."""

import re
import shutil
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_has_every_service_with_health_checks_and_volumes(compose):
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "migrate"} <= set(services)
    for name in ("web", "worker", "beat", "postgres", "redis"):
        assert "healthcheck" in services[name], name
        assert services[name]["healthcheck"]["test"], name
    assert {"pgdata", "redisdata", "media"} <= set(compose["volumes"])
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["env_file"] == ".env"
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "perfmgmt.settings.production"


def _module_exists(dotted: str) -> bool:
    return (ROOT / (dotted.replace(".", "/") + ".py")).exists()


def _check_command(argv: list[str]) -> None:
    program = argv[0]
    if program == "gunicorn":
        module, _, attribute = argv[1].partition(":")
        assert _module_exists(module), argv
        assert attribute in (ROOT / (module.replace(".", "/") + ".py")).read_text()
    elif program == "celery":
        assert argv[1] == "-A" and _module_exists(f"{argv[2]}/celery".replace("/", ".")), argv
        assert argv[3] in ("worker", "beat", "inspect"), argv
        if "--scheduler" in argv:
            module, _, cls = argv[argv.index("--scheduler") + 1].partition(":")
            assert cls in Path(__import__(module, fromlist=[cls]).__file__).read_text()
    elif program == "python":
        if argv[1] == "-c":
            compile(argv[2], "<healthcheck>", "exec")
        else:
            assert argv[1] == "manage.py" and (ROOT / "manage.py").exists()
            assert argv[2] in get_commands(), argv
    elif program in ("redis-server", "redis-cli", "pg_isready"):
        pass  # provided by the official postgres and redis images
    else:
        pytest.fail(f"unknown program in compose: {argv}")
    # Any installed Python entry point named here must exist in the pinned environment.
    if program in ("gunicorn", "celery"):
        assert shutil.which(program) or (Path(__import__("sys").executable).parent / program).exists(), program


def test_every_command_compose_runs_exists_in_the_project(compose):
    for service in compose["services"].values():
        if "command" in service:
            _check_command(service["command"])
        test = service.get("healthcheck", {}).get("test", [])
        if test and test[0] == "CMD":
            _check_command(test[1:])
        elif test and test[0] == "CMD-SHELL":
            _check_command(test[1].split())


def test_dockerfile_copies_files_that_exist_and_runs_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11" in dockerfile
    for source in re.findall(r"^COPY (\S+) ", dockerfile, flags=re.M):
        assert source == "." or (ROOT / source).exists(), source
    assert re.search(r'CMD \["gunicorn", "perfmgmt.wsgi:application"', dockerfile)
    assert "collectstatic" in dockerfile and "collectstatic" in get_commands()


def test_compose_variables_are_in_the_example_env(compose):
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{(\w+)\}", text))
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert used <= example


def test_deploy_guide_names_only_commands_and_services_that_exist(compose):
    """docs/deploy.md is followed by people at 2 a.m.: every manage.py command, compose service and
    Celery task it names must exist, and each of its sections must be there."""
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for heading in ("## Scaling out", "## Backups and restore", "## Upgrades and migrations"):
        assert heading in guide, heading
    named = set(re.findall(r"manage\.py (\w+)", guide))
    assert {"migrate", "recompute_kpis", "createsuperuser", "check"} <= named
    assert named <= set(get_commands()), named - set(get_commands())
    services = set(re.findall(r"docker compose (?:exec(?: -T)?|run --rm|run -d --no-deps --name \S+) (\w+)", guide))
    assert services and services <= set(compose["services"]), services - set(compose["services"])
    from metrics import tasks

    for task in re.findall(r"`(\w+_task)`", guide):
        assert hasattr(tasks, task), task
    recompute = get_commands()["recompute_kpis"]
    assert recompute == "metrics"
    from metrics.management.commands.recompute_kpis import Command

    options = {
        a for action in Command().create_parser("manage.py", "recompute_kpis")._actions for a in action.option_strings
    }
    assert {"--full", "--queue"} <= options


def _queues_of(argv: list[str]) -> set[str]:
    """The queues a `celery worker` command line consumes (without -Q: every declared queue)."""
    from django.conf import settings

    if "-Q" not in argv:
        return {queue.name for queue in settings.CELERY_TASK_QUEUES}
    return set(argv[argv.index("-Q") + 1].split(","))


def test_compose_runs_workers_for_every_queue_and_one_for_imports_alone(compose):
    """An upload never waits behind a warm-up: some worker takes each queue, and one takes only
    "imports" (docs/deploy.md). Each worker is started again when it exits."""
    from django.conf import settings

    workers = {
        name: service["command"]
        for name, service in compose["services"].items()
        if "worker" in service.get("command", [])
    }
    consumed = set().union(*(_queues_of(argv) for argv in workers.values()))
    assert consumed == {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert any(_queues_of(argv) == {settings.IMPORTS_QUEUE} for argv in workers.values())
    for name in workers:
        assert compose["services"][name]["restart"] == "unless-stopped", name
        assert "healthcheck" in compose["services"][name], name
