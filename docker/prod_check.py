"""Run what the image runs, outside Docker, and prove it serves: `make prod-check`.

Production settings (DEBUG off, a fresh secret, allowed hosts), `check --deploy` with no
warning, `collectstatic`, the set-up job (migrate, roles, content) and gunicorn started from
docker/gunicorn.conf.py against a throwaway PostgreSQL database and Redis on 127.0.0.1. It then asks
for the home page, a category, an explainer, a static file and /readyz, and stops everything.
Exits non-zero, saying which step failed, if anything does.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES = ["-h", "127.0.0.1", "-U", "postgres"]
REDIS_URL = os.environ.get("PROD_CHECK_REDIS_URL", "redis://127.0.0.1:6379/14")


def main() -> int:
    database = f"explainers_prod_check_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="explainers-prod-check-"))
    port = free_port()
    env = {
        "PATH": f"{Path(PYTHON).parent}:/usr/bin:/bin",
        "HOME": str(workdir),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": REDIS_URL,
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_LOAD_FIXTURES": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
    }
    server = None
    try:
        step("createdb", ["createdb", *POSTGRES, database])
        step("check --deploy", manage("check", "--deploy", "--fail-level", "WARNING"), env)
        step("collectstatic", manage("collectstatic", "--no-input", "-v0"), env)
        step("set-up job", ["sh", "docker/setup.sh"], env)
        log = (workdir / "gunicorn.log").open("w")
        server = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "--config", "docker/gunicorn.conf.py", "site_config.wsgi"],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(f"{base}/healthz", server)
        home = fetch(f"{base}/")
        category = fetch(f"{base}/ai-principles/llm-foundations/")
        explainer_path = re.search(r'<h3 class="card-title"><a href="([^"]+)"', category).group(1)
        fetch(f"{base}{explainer_path}")
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', home).group(1)
        fetch(f"{base}{stylesheet}", expect_header=("Cache-Control", "max-age=31536000"))
        ready = json.loads(fetch(f"{base}/readyz"))
        if ready != {"database": "ok", "cache": "ok"}:
            raise SystemExit(f"prod-check: /readyz says {ready}")
        print("prod-check: every page answered; gunicorn's access log:")
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        print((workdir / "gunicorn.log").read_text().strip())
        return 0
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        subprocess.run(["dropdb", *POSTGRES, "--if-exists", database], check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def manage(*args: str) -> list[str]:
    return [PYTHON, "manage.py", *args]


def step(name: str, command: list[str], env: dict | None = None):
    print(f"prod-check: {name}", flush=True)
    result = subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise SystemExit(f"prod-check: {name} failed:\n{result.stdout}{result.stderr}")


def fetch(url: str, expect_header: tuple[str, str] | None = None) -> str:
    # As the TLS proxy in front would: HTTPS already done, a request id to follow.
    request = urllib.request.Request(
        url, headers={"X-Forwarded-Proto": "https", "X-Request-ID": "prod-check"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read().decode()
            headers = response.headers
    except urllib.error.HTTPError as error:
        raise SystemExit(f"prod-check: {url} answered {error.code}") from None
    if expect_header and expect_header[1] not in headers.get(expect_header[0], ""):
        raise SystemExit(f"prod-check: {url} has no {expect_header[0]}: {expect_header[1]}")
    print(f"prod-check: 200 {url} ({len(body)} characters)")
    return body


def wait_until_answering(url: str, server: subprocess.Popen, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("prod-check: gunicorn stopped while starting")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"prod-check: {url} did not answer within {seconds:.0f} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
