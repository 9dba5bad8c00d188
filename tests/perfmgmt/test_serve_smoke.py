"""Start the site the way `make run` does (bin/serve) and fetch its pages as a browser would.

The wait follows the work, not the clock: bin/serve loads the demo first (a minute on an idle
machine, several on a busy one), printing a line per step. The test keeps waiting while the
process is alive and its output grows, fails at once when it exits, and gives up only after
SILENCE seconds without a new line or CAP seconds in all.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
SILENCE = 120  # seconds without new output before a live process counts as stuck
CAP = 15 * 60  # seconds in all, however busy the process keeps
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(
    ready: Callable[[], T | None],
    *,
    process: subprocess.Popen,
    logs: list[Path],
    what: str,
    silence: float = SILENCE,
    cap: float = CAP,
) -> T:
    """Ask `ready` every half second until it answers something (not None) and return that.
    Fails at once when `process` exits, and when none of `logs` (its output) has grown for
    `silence` seconds, or after `cap` seconds in all."""
    start = last_growth = time.monotonic()
    sizes = None
    while True:
        answer = ready()
        if answer is not None:
            return answer
        if process.poll() is not None:
            pytest.fail(f"{what}: bin/serve exited with {process.returncode} first\n{_tail(logs)}")
        now = time.monotonic()
        current = [log.stat().st_size if log.exists() else 0 for log in logs]
        if current != sizes:
            sizes, last_growth = current, now
        elif now - last_growth > silence:
            pytest.fail(f"{what}: no new output for {silence:.0f} s, the process looks stuck\n{_tail(logs)}")
        if now - start > cap:
            pytest.fail(f"{what}: not done after {cap:.0f} s although still printing\n{_tail(logs)}")
        time.sleep(0.5)


def _tail(logs: list[Path]) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for log in logs if log.exists())


def _fetch(url: str) -> tuple[int, str, bytes] | None:
    """(status, content type, body) of a GET, following redirects; None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the test's own http:// server
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()
    except OSError:
        return None


def _serve(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen, Path, int]:
    """bin/serve on a free port with its own SQLite file and file broker: the embedded default,
    on a fresh, empty database. Returns the process (its own process group), its log, the port."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.pop("DJANGO_DEBUG", None)  # as a new user runs it
    env.update(
        PYTHON=sys.executable,
        PORT=str(port),
        PERFMGMT_VAR_DIR=str(tmp_path),
        DJANGO_ENV_FILE=str(tmp_path / ".env"),
        **extra,
    )
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", "bin/serve"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return process, log, port


def _pid(path: Path) -> int:
    """The pid in a worker's pid file (celery --pidfile)."""
    return int(path.read_text().strip())


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _stop(process: subprocess.Popen, tmp_path: Path) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    subprocess.run(["pkill", "-9", "-f", str(tmp_path)], check=False)


@pytest.mark.slow
def test_make_run_serves_the_login_page_with_demo_logins(tmp_path):
    process, log, port = _serve(tmp_path)
    base = f"http://127.0.0.1:{port}"
    worker_log = tmp_path / "log" / "worker.log"
    try:
        status, _, body = _wait_for(
            lambda: _fetch(f"{base}/accounts/login/"), process=process, logs=[log], what="the login page"
        )
        assert status == 200
        page = body.decode()
        assert 'name="username"' in page and 'name="password"' in page
        assert "登录" in page  # Chinese by default
        output = log.read_text()
        assert "Loading the demo data" in output and "importing orders (1/5)…" in output
        for username in ("manager", "lead", "staff1", "staff2", "hr", "admin"):
            assert f"  {username}" in output
        assert (tmp_path / "db.sqlite3").exists()

        # Served as users see it (DEBUG off): an unknown address gets the site's own 404 page,
        # not Django's list of URL patterns; static files and the icon are there all the same.
        status, kind, body = _fetch(f"{base}/no-such-page/")
        assert status == 404 and kind.startswith("text/html")
        assert '<div class="code">404</div>' in body.decode() and "URLconf" not in body.decode()
        status, kind, _ = _fetch(f"{base}/static/css/app.css")
        assert status == 200 and kind.startswith("text/css")
        status, _, icon = _fetch(f"{base}/favicon.ico")
        assert status == 200 and icon[:4] == b"\x00\x00\x01\x00"

        # The workers started beside the server are up on the file broker: one for every queue, one
        # for imports only (docs/deploy.md).
        imports_log = tmp_path / "log" / "worker-imports.log"
        for name, path in (("default", worker_log), ("imports", imports_log)):
            _wait_for(
                lambda path=path: True if path.exists() and "ready." in path.read_text() else None,
                process=process,
                logs=[log, path],
                what=f"the {name} worker",
            )
        assert "-Q celery,imports" in _command_line(_pid(tmp_path / "run" / "worker.pid"))
        assert "-Q imports" in _command_line(_pid(tmp_path / "run" / "worker-imports.pid"))

        # A worker that dies (here SIGKILL, as the OOM killer would) is started again (bin/supervise).
        killed = _pid(tmp_path / "run" / "worker-imports.pid")
        os.kill(killed, signal.SIGKILL)
        started = time.monotonic()
        _wait_for(
            lambda: True if imports_log.read_text().count("ready.") == 2 else None,
            process=process,
            logs=[log, imports_log],
            what="the imports worker started again",
        )
        print(f"\nimports worker ready again {time.monotonic() - started:.1f} s after its SIGKILL")
        assert _pid(tmp_path / "run" / "worker-imports.pid") != killed
        assert "the Celery worker (imports queue) exited with status 137; starting it again in 1 s" in log.read_text()

        # Ctrl-C stops the server and the workers, and leaves no process behind.
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=SILENCE) is not None
        leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
        assert leftovers == [], "processes left running after Ctrl-C"
    finally:
        _stop(process, tmp_path)


@pytest.mark.slow
def test_make_run_that_cannot_start_fails_the_wait_at_once(tmp_path):
    """A real fault (the database cannot be opened): bin/serve exits, and the wait says so then,
    with the output, instead of waiting for its limits."""
    process, log, port = _serve(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/no-such-folder/db.sqlite3")
    try:
        with pytest.raises(pytest.fail.Exception, match="exited with 1") as failure:
            _wait_for(lambda: _fetch(f"http://127.0.0.1:{port}/"), process=process, logs=[log], what="the site")
        assert "unable to open database file" in str(failure.value)
    finally:
        _stop(process, tmp_path)


def test_the_wait_gives_up_on_a_live_process_that_prints_nothing(tmp_path):
    log = tmp_path / "out.log"
    with log.open("w") as out:
        process = subprocess.Popen(["bash", "-c", "echo starting; exec sleep 600"], stdout=out, start_new_session=True)
    try:
        with pytest.raises(pytest.fail.Exception, match="no new output for 1 s") as failure:
            _wait_for(lambda: None, process=process, logs=[log], what="a silent process", silence=1)
        assert "starting" in str(failure.value)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
def test_make_run_without_the_demo_starts_empty_and_the_first_visit_sets_it_up(tmp_path):
    """PERFMGMT_DEMO=0: no demo; every page leads to the set-up page, which (with its CSRF token,
    as a browser sends it) creates the administrator and the first store, signs them in and lands
    on what to do next; afterwards the set-up page is gone."""
    import http.cookiejar
    import re
    import urllib.parse

    process, log, port = _serve(tmp_path, PERFMGMT_DEMO="0")
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def fetch(path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(base + path, data=body, headers={"Referer": base + path})  # noqa: S310 - http://
        try:
            with browser.open(request, timeout=10) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read().decode()
        except OSError:
            return None

    try:
        status, url, page = _wait_for(lambda: fetch("/"), process=process, logs=[log], what="the first page")
        assert (status, urllib.parse.urlparse(url).path) == (200, "/setup/")
        assert 'name="user-password1"' in page and "设置 perfmgmt" in page
        assert "Loading the demo data" not in log.read_text() and "PERFMGMT_DEMO=0" in log.read_text()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        status, url, page = fetch("/setup/", {
            "csrfmiddlewaretoken": token, "user-username": "boss", "user-password1": "Wen-9-tulips-Quay",
            "user-password2": "Wen-9-tulips-Quay", "store-name": "未来衣橱旗舰店", "store-platform": "tmall",
            "store-time_zone": "Asia/Shanghai", "store-attribution_window_hours": "24", "store-stuck_deal_days": "7",
            "store-stuck_deal_response_hours": "12",
        })  # fmt: skip
        assert (status, urllib.parse.urlparse(url).path) == (200, "/org/start/") and "导入花名册" in page
        assert fetch("/setup/")[0] == 404
        status, url, page = fetch("/org/stores/")
        assert status == 200 and "未来衣橱旗舰店" in page
    finally:
        _stop(process, tmp_path)
