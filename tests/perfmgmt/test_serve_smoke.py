"""Start the site the way `make run` does (bin/serve) and fetch the login page as a browser would."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_make_run_serves_the_login_page_with_demo_logins(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.pop("DJANGO_DEBUG", None)  # as a new user runs it
    # Its own SQLite file and file broker: the embedded default, on a fresh, empty database.
    env.update(
        PYTHON=sys.executable,
        PORT=str(port),
        PERFMGMT_VAR_DIR=str(tmp_path),
        DJANGO_ENV_FILE=str(tmp_path / ".env"),
    )
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        ["bash", "bin/serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        body, deadline = None, time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as response:
                    assert response.status == 200
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        output = (tmp_path / "serve.log").read_text()
        assert body is not None, f"server did not answer; exit={process.poll()}\n{output}"
        assert 'name="username"' in body and 'name="password"' in body
        assert "登录" in body  # Chinese by default
        for username in ("manager", "lead", "staff1", "staff2", "hr", "admin"):
            assert f"  {username}" in output
        assert (tmp_path / "db.sqlite3").exists()
        # Served as users see it (DEBUG off): an unknown address gets the site's own 404 page,
        # not Django's list of URL patterns; static files and the icon are there all the same.
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=10)
        page = missing.value.read().decode()
        assert missing.value.code == 404 and '<div class="code">404</div>' in page and "URLconf" not in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/app.css", timeout=10) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/css")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.ico", timeout=10) as response:
            assert response.status == 200 and response.read()[:4] == b"\x00\x00\x01\x00"
        # The worker started beside the server is up on the file broker.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "ready." not in (tmp_path / "log" / "worker.log").read_text():
            time.sleep(0.5)
        assert "ready." in (tmp_path / "log" / "worker.log").read_text()
        # Ctrl-C stops the server and the worker, and leaves no process behind.
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=45) is not None
        leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
        assert leftovers == [], "processes left running after Ctrl-C"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        subprocess.run(["pkill", "-9", "-f", str(tmp_path)], check=False)
        log.close()
