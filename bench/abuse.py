"""Abuse benchmark: four findings of the security audit, measured so that a copy of the project
from before the fixes and one from after them can be compared.

What it measures (one table, one row per figure):

1. **Rendition flood.** One published explainer (the first of ``/ai-principles/llm-foundations/``)
   gets a real hero: a noisy 6000 x 4000 JPEG drawn with Pillow, so that every rendition costs
   real CPU. Then 60 requests (8 at a time) ask for renditions of it under spellings that are
   not the declared ones ("0400", "٤٠٠", "۴۰۰", fullwidth digits, ...), in both URL shapes the
   project has had (old ``/images/<size>.<ext>/<original>``, new
   ``/images/<original>/<size>.<ext>``; one of them simply 404s on each version), plus
   ``heroes/../`` paths. Meanwhile another thread fetches the cached category page over and over.
   Printed: files in MEDIA_ROOT/renditions before and after, the category page's p50/p95 during
   the flood against a quiet baseline, and the 5xx answers.
2. **Markdown.** ``explainers.markup.render_markdown`` timed on pathological bodies, each in its
   own ``manage.py shell -c`` subprocess with a 60 s limit; and one reader's GET of an explainer
   whose body is ``"[" * 20000`` (the old code renders the body on every request and can run into
   gunicorn's worker timeout; the new code stores the rendered HTML).
3. **Lockout behind a proxy.** Five wrong passwords for a staff user from X-Forwarded-For
   203.0.113.66, then the right one from 198.51.100.7: was the real user let in or locked out?
   ``DJANGO_TRUSTED_PROXY_COUNT=1`` is set for both versions (the old code ignores it).
4. **Hostile paths.** 20 requests each to NUL-byte paths and query strings and to a category path
   2,040 levels deep: the status codes and 5xx count, and the home page's p50 while 6 threads
   send the deep path for 5 s against a quiet baseline.

How: like bench/pages_bench.py (whose helpers are copied here, so that nothing is imported from
the project being measured): a temporary folder holds a throwaway SQLite database, MEDIA_ROOT and
STATIC_ROOT; ``migrate``, ``loaddata explainers`` and ``collectstatic`` run in subprocesses of
the project, and so does the set-up (hero, staff user, pathological body). Settings are
production-like (DJANGO_DEBUG=0, a random secret key, DJANGO_ALLOWED_HOSTS=127.0.0.1, no
REDIS_URL, so each worker has a local-memory cache). gunicorn runs the project's
docker/gunicorn.conf.py with 2 workers on a free port of 127.0.0.1; every request goes to the
loopback only. Request counts are bounded and every phase has a hard time limit; a run takes
about 2 to 3 minutes on 2 cores. It exits non-zero if a set-up step fails.

Run with the project's virtualenv (the same interpreter for both copies):

    .venv/bin/python bench/abuse.py                                  # this repository
    .venv/bin/python bench/abuse.py --project /tmp/explainers-before # an older copy
"""

import argparse
import http.client
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlencode

from import_bench import BenchError
from pages_bench import gunicorn

PYTHON = sys.executable
HOST = "127.0.0.1"  # the only address this script ever sends requests to
WORKERS = 2
CATEGORY_PATH = "/ai-principles/llm-foundations/"
COMMAND_TIMEOUT = 180  # seconds for each set-up command
MARKDOWN_TIMEOUT = 60  # seconds for each pathological body
READER_TIMEOUT = 40  # seconds for the reader's GET of the pathological explainer
FLOOD_LIMIT = 90  # hard limit of the rendition flood, seconds
HOSTILE_LIMIT = 40  # hard limit of the hostile paths' requests, seconds
STAFF_USERNAME = "bench-editor"
ATTACKER_IP = "203.0.113.66"
REAL_USER_IP = "198.51.100.7"
DEEP_PATH = "/" + "a/" * 2040
PATHOLOGICAL = {
    '"[" * 20000': "[" * 20000,
    '"<div>" * 5000': "<div>" * 5000,
    '"![a](" * 5000': "![a](" * 5000,
}

# Run by `manage.py shell -c` with the benchmark's settings. Parameters come in BENCH_ARGS.
SETUP = r"""
import io, json, os
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw
import explainers
from explainers.models import Category, Explainer, HeroImage

args = json.loads(os.environ["BENCH_ARGS"])
category = Category.objects.get(path=args["category"].strip("/"))
target = Explainer.objects.published().filter(category=category).order_by("position", "pk")[0]
width, height = 6000, 4000
image = Image.merge("RGB", [Image.effect_noise((width, height), 60) for _ in range(3)])
draw = ImageDraw.Draw(image)
for step in range(0, width, 300):
    draw.rectangle([step, step // 2, step + 150, step // 2 + 900], fill=(step % 256, 90, 160))
buffer = io.BytesIO()
image.save(buffer, format="JPEG", quality=90)
hero = HeroImage.objects.create(
    image=ContentFile(buffer.getvalue(), name="bench-noise.jpg"),
    alt_text="Coloured noise drawn by the abuse benchmark",
)
Explainer.objects.filter(pk=target.pk).update(hero=hero)

# The pathological body goes on another published explainer, through save() (which renders and
# stores body_html where the code does that).
victim = Explainer.objects.published().exclude(pk=target.pk).order_by("-pk")[0]
victim.body = "[" * 20000
victim.save(update_fields=["body"])

get_user_model().objects.create_user(
    args["username"], password=args["password"], is_staff=True, is_superuser=True
)
print(json.dumps({
    "hero": hero.image.name,
    "hero_size": [hero.width, hero.height],
    "hero_bytes": len(buffer.getvalue()),
    "hero_explainer": target.get_absolute_url(),
    "victim": victim.get_absolute_url(),
    "code": os.path.dirname(explainers.__file__),
}))
"""

MARKDOWN = r"""
import json, os, time
from explainers.markup import render_markdown
body = json.loads(os.environ["BENCH_ARGS"])["body"]
start = time.perf_counter()
html = render_markdown(body)
print(json.dumps({"seconds": time.perf_counter() - start, "html": len(html)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--project",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the project's folder, with manage.py and docker/gunicorn.conf.py (default: this one)",
    )
    args = parser.parse_args()
    project = args.project.resolve()
    if (
        not (project / "manage.py").is_file()
        or not (project / "docker" / "gunicorn.conf.py").is_file()
    ):
        parser.error(f"{project} has no manage.py or docker/gunicorn.conf.py")

    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    try:
        rows, notes = run_benchmark(project)
    except BenchError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(f"project: {project}")
    print_table(rows)
    for note in notes:
        print(note)
    print(f"total run time {time.monotonic() - started:.1f} s")
    return 0


def interrupt(signum, frame):
    raise KeyboardInterrupt


def run_benchmark(project: Path) -> tuple[list[tuple[str, str, str]], list[str]]:
    rows: list[tuple[str, str, str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="explainers-abuse-bench-") as tmp:
        tmp = Path(tmp)
        env = bench_env(tmp)
        say(f"{project}: migrate, loaddata explainers, collectstatic ...")
        manage(project, env, "migrate", "--no-input", "-v0")
        manage(project, env, "loaddata", "explainers", "-v0")
        manage(project, env, "collectstatic", "--no-input", "-v0")
        password = secrets.token_urlsafe(18)
        say("set-up: a 6000 x 4000 hero, a staff user, a pathological body ...")
        facts = shell_json(
            project,
            env,
            SETUP,
            {"category": CATEGORY_PATH, "username": STAFF_USERNAME, "password": password},
        )
        if Path(facts["code"]).resolve() != (project / "explainers").resolve():
            raise BenchError(f"the set-up imported {facts['code']}, not {project}/explainers")
        notes.append(
            f"hero: {facts['hero']} ({facts['hero_size'][0]} x {facts['hero_size'][1]}, "
            f"{facts['hero_bytes']:,} bytes), shown by {facts['hero_explainer']}"
        )
        renditions = tmp / "media" / "renditions"
        log_path = tmp / "gunicorn.log"
        with gunicorn(env, log_path, project) as (port, _):
            say(f"gunicorn on {HOST}:{port}")
            say("phase 1: rendition flood ...")
            rows += rendition_flood(port, facts["hero"], renditions, notes)
            say("phase 3: lockout behind a proxy ...")
            rows += lockout(port, password, notes)
            say("phase 4: hostile paths ...")
            rows += hostile_paths(port, notes)
            say("phase 2: markdown ...")
            rows += markdown(project, env, port, facts["victim"], notes)
            timeouts = log_path.read_text(errors="replace").count("WORKER TIMEOUT")
        rows.append(("all", "gunicorn worker timeouts in its log", str(timeouts)))
    rows.sort(key=lambda row: row[0])  # phases in their numbers' order; rows keep theirs
    return rows, notes


# --- phase 1 -----------------------------------------------------------------------------------

DIGITS = {
    "Arabic-Indic": "٠١٢٣٤٥٦٧٨٩",
    "Extended Arabic-Indic": "۰۱۲۳۴۵۶۷۸۹",
    "Devanagari": "०१२३४५६७८९",
    "fullwidth": "０１２３４５６７８９",
    "Bengali": "০১২৩৪৫৬৭৮৯",
}


def size_spellings() -> list[str]:
    """Spellings of 400, 800 and 1200 that are not the declared ones, interleaved by width."""
    spellings = []
    for variant in range(8):
        for width in ("400", "800", "1200"):
            if variant < 3:
                spellings.append("0" * (variant + 1) + width)
            else:
                digits = list(DIGITS.values())[variant - 3]
                spellings.append("".join(digits[int(d)] for d in width))
    return spellings


def flood_paths(original: str) -> list[tuple[str, str]]:
    """60 (kind, path): 26 in each URL shape, 8 through heroes/../."""
    pairs = [(size, ext) for size in size_spellings() for ext in ("jpg", "webp")]
    # Every width and both formats early on: the first 26 pairs cover all of them.
    pairs = pairs[::2] + pairs[1::2]
    paths = []
    for size, ext in pairs[:26]:
        paths.append(("old shape", f"/images/{quote(size)}.{ext}/{original}"))
        paths.append(("new shape", f"/images/{original}/{quote(size)}.{ext}"))
    stem = original.rsplit(".", 1)[0]
    for dots in ("..", "%2e%2e"):
        for target in (original, f"renditions/{stem}-400.jpg"):
            sneaky = f"heroes/{dots}/{target}"
            paths.append(("heroes/../", f"/images/400.jpg/{sneaky}"))
            paths.append(("heroes/../", f"/images/{sneaky}/400.jpg"))
    return paths


def count_files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def rendition_flood(port: int, original: str, renditions: Path, notes: list[str]) -> list:
    warm = [get(port, CATEGORY_PATH)[0] for _ in range(10)]
    if warm[-1] != 200:
        raise BenchError(f"{CATEGORY_PATH} answered {warm}")
    quiet = sequential(port, CATEGORY_PATH, count=50, seconds=30)
    before = count_files(renditions)
    kinds = dict((path, kind) for kind, path in flood_paths(original))
    paths = list(kinds)
    stop = threading.Event()
    during: dict = {}
    watcher = threading.Thread(
        target=lambda: during.update(sequential(port, CATEGORY_PATH, 10_000, FLOOD_LIMIT, stop)),
        daemon=True,
    )
    watcher.start()
    start = time.perf_counter()
    flood = concurrent(port, paths, concurrency=8, seconds=FLOOD_LIMIT, timeout=35)
    flood_seconds = time.perf_counter() - start
    stop.set()
    watcher.join()
    after = count_files(renditions)
    shapes = {"old shape": [], "new shape": [], "heroes/../": []}
    for path, status in flood["by_path"]:
        shapes[kinds[path]].append(status)
    for shape, statuses in shapes.items():
        notes.append(f"flood, {shape}: {len(statuses)} requests, statuses {summary(statuses)}")
    notes.append(
        f"flood: {flood['sent']} of {len(paths)} requests sent in {flood_seconds:.1f} s; "
        f"category page during the flood: {len(during['latencies'])} requests, "
        f"statuses {summary(during['statuses'])}"
    )
    fives = count_5xx(flood["statuses"]) + count_5xx(during["statuses"])
    return [
        (
            "1 rendition flood",
            "files in MEDIA_ROOT/renditions before -> after",
            f"{before} -> {after} (+{after - before})",
        ),
        (
            "1 rendition flood",
            "category page p50 / p95 ms, quiet",
            f"{pct(quiet['latencies'], 0.5):.1f} / {pct(quiet['latencies'], 0.95):.1f}"
            f" (n={len(quiet['latencies'])})",
        ),
        (
            "1 rendition flood",
            "category page p50 / p95 ms, during flood",
            f"{pct(during['latencies'], 0.5):.1f} / {pct(during['latencies'], 0.95):.1f}"
            f" (n={len(during['latencies'])})",
        ),
        ("1 rendition flood", "5xx or no answer (flood + category page)", str(fives)),
    ]


# --- phase 2 -----------------------------------------------------------------------------------


def markdown(project: Path, env: dict, port: int, victim: str, notes: list[str]) -> list:
    rows = []
    for label, body in PATHOLOGICAL.items():
        try:
            done = shell_json(project, env, MARKDOWN, {"body": body}, timeout=MARKDOWN_TIMEOUT)
            figure = f"{done['seconds']:.2f} s"
        except subprocess.TimeoutExpired:
            figure = f"> {MARKDOWN_TIMEOUT} s (timeout)"
        rows.append(("2 markdown", f"render_markdown({label})", figure))
    # The reader's GET, last of all: on the old code it may hold a worker until gunicorn kills it.
    status, seconds, error = get(port, victim, timeout=READER_TIMEOUT)
    if status is None:
        figure = f"no answer after {seconds:.1f} s ({error})"
    else:
        figure = f"HTTP {status} in {seconds:.2f} s"
    rows.append(("2 markdown", 'reader GET of explainer with body "[" * 20000', figure))
    rows.append(
        ("2 markdown", "  5xx or no answer", "1" if status is None or status >= 500 else "0")
    )
    notes.append(f"pathological explainer: {victim}")
    return rows


# --- phase 3 -----------------------------------------------------------------------------------

TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def login_attempt(port: int, password: str, forwarded_for: str) -> tuple[int, str]:
    """GET the login page (CSRF cookie and token), POST the form; return (status, Location)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=15)
    try:
        headers = {"X-Forwarded-For": forwarded_for}
        connection.request("GET", "/admin/login/?next=/admin/", headers=headers)
        response = connection.getresponse()
        page = response.read()
        cookies = cookie_header(response)
        token = TOKEN.search(page)
        if response.status != 200 or token is None:
            raise BenchError(f"GET /admin/login/ answered {response.status} without a CSRF token")
        form = urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "username": STAFF_USERNAME,
                "password": password,
                "next": "/admin/",
            }
        )
        headers |= {"Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"}
        connection.request("POST", "/admin/login/?next=/admin/", body=form, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    finally:
        connection.close()


def cookie_header(response: http.client.HTTPResponse) -> str:
    return "; ".join(
        value.split(";", 1)[0]
        for name, value in response.getheaders()
        if name.lower() == "set-cookie"
    )


def lockout(port: int, password: str, notes: list[str]) -> list:
    # A control first: the right password signs in (and, with AXES_RESET_ON_SUCCESS, leaves no
    # failures behind), so that a refusal afterwards is the lockout, not a broken sign-in.
    control = login_attempt(port, password, REAL_USER_IP)
    wrong = [login_attempt(port, secrets.token_urlsafe(12), ATTACKER_IP)[0] for _ in range(5)]
    status, location = login_attempt(port, password, REAL_USER_IP)
    if status == 302 and location.rstrip("/").endswith("/admin"):
        verdict = "not locked out (signed in)"
    elif status == 302 and "two-factor" in location:
        verdict = "not locked out (sent to the second factor)"
    elif status in (403, 429):
        verdict = f"LOCKED OUT (HTTP {status})"
    else:
        verdict = f"unclear: HTTP {status} {location}"
    notes.append(f"lockout control: the right password before the attack answered {control}")
    notes.append(
        f"lockout: 5 wrong passwords from X-Forwarded-For {ATTACKER_IP} answered {wrong}; the "
        f"right one from {REAL_USER_IP} answered {status} {location}"
    )
    return [("3 lockout via proxy", "real user after 5 failures from another IP", verdict)]


# --- phase 4 -----------------------------------------------------------------------------------


def hostile_paths(port: int, notes: list[str]) -> list:
    rows = []
    hostile = {
        "/%00/": "/%00/",
        "/search/?q=abc%00": "/search/?q=abc%00",
        "/feeds/categories/%00/rss.xml": "/feeds/categories/%00/rss.xml",
        "category path 2,040 levels deep": DEEP_PATH,
    }
    for label, path in hostile.items():
        done = concurrent(port, [path] * 20, concurrency=4, seconds=HOSTILE_LIMIT, timeout=15)
        rows.append(
            (
                "4 hostile paths",
                f"{label}: statuses (5xx)",
                f"{summary(done['statuses'])} ({count_5xx(done['statuses'])})",
            )
        )
    for _ in range(5):
        get(port, "/")
    quiet = sequential(port, "/", count=50, seconds=30)
    stop = threading.Event()
    deep: list = []
    lock = threading.Lock()

    def attacker():
        while not stop.is_set():
            status, _, _ = get(port, DEEP_PATH, timeout=15)
            with lock:
                deep.append(status)

    attackers = [threading.Thread(target=attacker, daemon=True) for _ in range(6)]
    for thread in attackers:
        thread.start()
    time.sleep(0.3)
    during = sequential(port, "/", count=10_000, seconds=5)
    stop.set()
    for thread in attackers:
        thread.join(timeout=20)
    notes.append(
        f"deep paths during the home page's load: {len(deep)} requests, statuses {summary(deep)}; "
        f"home page: {len(during['latencies'])} requests, statuses {summary(during['statuses'])}"
    )
    rows.append(
        (
            "4 hostile paths",
            "home p50 ms, quiet -> 6 threads of deep paths",
            f"{pct(quiet['latencies'], 0.5):.1f} -> {pct(during['latencies'], 0.5):.1f}",
        )
    )
    return rows


# --- requests ----------------------------------------------------------------------------------


def get(port: int, path: str, timeout: float = 10) -> tuple[int | None, float, str]:
    """One GET on a new connection: (status or None, seconds, error)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    start = time.perf_counter()
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - start, ""
    except (OSError, http.client.HTTPException) as error:
        return None, time.perf_counter() - start, type(error).__name__
    finally:
        connection.close()


def sequential(port, path, count, seconds, stop: threading.Event | None = None) -> dict:
    """GET `path` one after another: at most `count` times, for at most `seconds`."""
    latencies, statuses = [], []
    deadline = time.monotonic() + seconds
    while len(statuses) < count and time.monotonic() < deadline:
        if stop is not None and stop.is_set():
            break
        status, elapsed, _ = get(port, path)
        statuses.append(status)
        if status == 200:
            latencies.append(elapsed)
    return {"latencies": latencies, "statuses": statuses}


def concurrent(port, paths, concurrency, seconds, timeout) -> dict:
    """GET each of `paths` once, `concurrency` at a time, for at most `seconds`."""
    lock = threading.Lock()
    queue = list(reversed(paths))
    by_path: list[tuple[str, int | None]] = []
    deadline = time.monotonic() + seconds

    def client():
        while True:
            with lock:
                if not queue or time.monotonic() > deadline:
                    return
                path = queue.pop()
            status, _, _ = get(port, path, timeout=timeout)
            with lock:
                by_path.append((path, status))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + timeout + 5)
    return {"by_path": by_path, "statuses": [s for _, s in by_path], "sent": len(by_path)}


def pct(latencies: list[float], share: float) -> float:
    """Nearest-rank percentile in milliseconds."""
    ordered = sorted(latencies)
    if not ordered:
        return math.nan
    return 1000 * ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def count_5xx(statuses) -> int:
    return sum(1 for status in statuses if status is None or status >= 500)


def summary(statuses) -> str:
    counts = Counter("none" if status is None else str(status) for status in statuses)
    return ", ".join(f"{status}x{count}" for status, count in sorted(counts.items())) or "-"


# --- set-up (after bench/pages_bench.py and bench/import_bench.py) -----------------------------


def bench_env(tmp: Path) -> dict:
    """Production-like settings; nothing inherited from the caller's DJANGO_ variables."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_")
        and name not in {"DATABASE_URL", "GUNICORN_CMD_ARGS", "REDIS_URL", "BENCH_ARGS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="site_config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=HOST,
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(tmp / "media"),
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        DJANGO_SECURE_SSL_REDIRECT="0",
        # The new code believes X-Forwarded-For only with this set; the old code ignores it.
        DJANGO_TRUSTED_PROXY_COUNT="1",
    )
    return env


def manage(project: Path, env: dict, *arguments: str, timeout: float = COMMAND_TIMEOUT) -> str:
    return run([PYTHON, "manage.py", *arguments], project, env, timeout)


def shell_json(project: Path, env: dict, code: str, args: dict, timeout=COMMAND_TIMEOUT):
    """Run `code` with `manage.py shell -c`; return the JSON of its last line of output.
    A timeout is raised as subprocess.TimeoutExpired (the child is killed)."""
    command = [PYTHON, "manage.py", "shell", "-c", code]
    done = subprocess.run(
        command,
        cwd=project,
        env={**env, "BENCH_ARGS": json.dumps(args)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py shell exited with {done.returncode}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(command: list[str], project: Path, env: dict, timeout: float) -> str:
    """Run a command in the project folder; return its output, or raise BenchError."""
    try:
        done = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BenchError(f"{' '.join(command[:3])}: {error}") from error
    if done.returncode != 0:
        raise BenchError(
            f"{' '.join(command[:3])} exited with {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return done.stdout


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_table(rows: list[tuple[str, str, str]]) -> None:
    print(f"{'phase':<22}{'figure':<50}value")
    for phase, figure, value in rows:
        print(f"{phase:<22}{figure:<50}{value}")


if __name__ == "__main__":
    sys.exit(main())
