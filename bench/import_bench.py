"""Benchmark the listing importer: how long `manage.py import_listings` takes for N cards.

For each backend (SQLite, PostgreSQL) and each size it:

1. writes a synthetic card listing with that many cards into a temporary folder, split into
   pages of 30 cards like the live site (one file per page, 20 pages per category, so 1,000
   cards make 34 files in 2 categories);
2. creates a throwaway database (an SQLite file in a temporary folder, or the PostgreSQL
   database ``explainers_bench_<pid>``, dropped afterwards even on failure) and a temporary
   MEDIA_ROOT, and runs ``manage.py migrate`` in a subprocess (not timed);
3. times ``manage.py import_listings <folder>`` in a subprocess (every card is created), then
   times the same command again (the idempotent re-run: every card is unchanged);
4. with ``--fixture``, times ``manage.py export_fixture`` of that database and ``manage.py
   loaddata`` of the fixture into a second fresh database.

The times are wall-clock times of the whole subprocess, so they include starting Python and
Django (a fraction of a second); "peak MB" is the subprocess's peak resident set size (its
``ru_maxrss``). The script exits non-zero if a command fails or an import does not report what
it should.

Run from anywhere, with the project's virtualenv:

    .venv/bin/python bench/import_bench.py
    .venv/bin/python bench/import_bench.py --sizes 1000 10000 --backends sqlite
    .venv/bin/python bench/import_bench.py --sizes 20000 --backends sqlite --fixture

PostgreSQL is reached at 127.0.0.1:5432 as user postgres (trust authentication).
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_HOST, PG_USER = "127.0.0.1", "postgres"
CARDS_PER_PAGE = 30
PAGES_PER_CATEGORY = 20
SERIES = ["MONA explainer", "MONA Bridge"]
COMMAND_TIMEOUT = 3600  # seconds; no single command may hang the benchmark for longer

SUBJECTS = [
    "Attention Heads",
    "Diffusion Models",
    "Tokenizers",
    "Scaling Laws",
    "Reward Models",
    "Vector Databases",
    "Embeddings",
    "Sparse Experts",
    "KV Caches",
    "Quantization",
    "Retrieval Pipelines",
    "Speculative Decoding",
    "Positional Encodings",
    "LoRA Adapters",
]
ANGLES = [
    "How {} Really Work",
    "Why {} Fail at Scale",
    "The Hard Limits of {}",
    "What Nobody Tells You About {}",
    "From First Principles: {}",
    "{} Explained Step by Step",
]
WORDS = (
    "model training inference tokens attention latent space gradient loss data compute "
    "probability layers weights alignment benchmark memory context window prediction"
).split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 10000, 100000])
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument(
        "--fixture",
        action="store_true",
        help="Also time export_fixture and loaddata of its fixture into a fresh database.",
    )
    args = parser.parse_args()

    rows = []
    for backend in args.backends:
        for size in args.sizes:
            print(f"{backend}, {size:,} cards ...", file=sys.stderr, flush=True)
            try:
                runs = bench_one(backend, size, fixture=args.fixture)
            except BenchError as error:
                print(f"FAILED: {backend}, {size:,} cards: {error}", file=sys.stderr)
                return 1
            rows.append((backend, size, runs))
    print_table(rows)
    return 0


class BenchError(Exception):
    pass


class Run:
    """One timed command: wall seconds and the subprocess's peak resident set size in MB."""

    def __init__(self, seconds: float, peak_mb: float, output: str):
        self.seconds, self.peak_mb, self.output = seconds, peak_mb, output


def bench_one(backend: str, size: int, *, fixture: bool = False) -> dict[str, Run]:
    """Import `size` cards into a fresh database twice (and, with `fixture`, export it and
    load the fixture into another fresh database); return each command's Run."""
    runs = {}
    with tempfile.TemporaryDirectory(prefix="explainers-bench-") as tmp:
        tmp = Path(tmp)
        listings, media = tmp / "listings", tmp / "media"
        listings.mkdir()
        media.mkdir()
        write_listings(listings, size)
        with database(backend, tmp) as url:
            env = {**os.environ, "DATABASE_URL": url, "DJANGO_MEDIA_ROOT": str(media)}
            manage(env, "migrate", "--no-input")
            runs["import"] = timed(env, "import_listings", str(listings))
            expect(runs["import"].output, f"{size} created, 0 updated, 0 unchanged")
            runs["re-run"] = timed(env, "import_listings", str(listings))
            expect(runs["re-run"].output, f"0 created, 0 updated, {size} unchanged")
            if fixture:
                dump = tmp / "dump.json"
                runs["export"] = timed(env, "export_fixture", "--output", str(dump))
                with database(backend, tmp, "load") as load_url:
                    load_env = {**env, "DATABASE_URL": load_url}
                    manage(load_env, "migrate", "--no-input")
                    runs["loaddata"] = timed(load_env, "loaddata", str(dump))
    return runs


@contextmanager
def database(backend: str, tmp: Path, suffix: str = "bench"):
    """Yield the DATABASE_URL of a fresh, empty database; drop it afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / f'{suffix}.sqlite3'}"
        return
    name = f"explainers_{suffix}_{os.getpid()}"
    pg = ["-h", PG_HOST, "-U", PG_USER]
    run(["dropdb", *pg, "--if-exists", name])
    run(["createdb", *pg, name])
    try:
        yield f"postgres://{PG_USER}@{PG_HOST}:5432/{name}"
    finally:
        run(["dropdb", *pg, "--if-exists", "--force", name])


def write_listings(folder: Path, size: int) -> None:
    """Write `size` cards as pages of 30, file names sorting in page order."""
    rng = random.Random(size)  # the same listing every time for a given size
    cards = [card(rng, number) for number in range(1, size + 1)]
    pages = [cards[i : i + CARDS_PER_PAGE] for i in range(0, size, CARDS_PER_PAGE)]
    for index, page in enumerate(pages):
        category, page_number = divmod(index, PAGES_PER_CATEGORY)
        header = [
            f"Benchmark Category {category + 1}",
            "",
            f"Synthetic explainers for the import benchmark, category {category + 1}: "
            + sentence(random.Random(category), 12)
            + ".",
            "",
        ]
        text = "\n".join(header) + "\n" + "\n\n".join(page) + "\n"
        path = folder / f"category-{category + 1:04d}.page-{page_number + 1:02d}.cards.txt"
        path.write_text(text, encoding="utf-8")


def card(rng: random.Random, number: int) -> str:
    """One card in the live site's format; the number keeps titles (and slugs) unique.

    Lengths are close to the captured listings' (titles about 75 characters, alt texts about
    100, excerpts about 120).
    """
    subject = rng.choice(SUBJECTS)
    words = sentence(rng, rng.randint(2, 5)).title()
    title = f"{rng.choice(ANGLES).format(subject)}, Part {number}: {words}"
    return "\n".join(
        [
            f"Diagram of {subject.lower()} with {sentence(rng, rng.randint(6, 12))}",
            f"{rng.choice(SERIES)} {rng.randint(1, 30)} min",
            "",
            title,
            "",
            f"{subject} shape {sentence(rng, rng.randint(6, 9))}. Learn how {sentence(rng, 3)} …",
        ]
    )


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def manage(env: dict, *arguments: str) -> str:
    return run([PYTHON, "manage.py", *arguments], env=env)


def run(command: list[str], env: dict | None = None) -> str:
    """Run a command in the project folder; return its output, or raise BenchError."""
    return run_measured(command, env)[0]


def run_measured(command: list[str], env: dict | None = None) -> tuple[str, float]:
    """Run a command in the project folder; return its output and its peak RSS in MB."""
    name = " ".join(command[:3])
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=err)
        except OSError as error:
            raise BenchError(f"{name}: {error}") from error
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            # wait4 gives this child's own resource usage (RUSAGE_CHILDREN would be the
            # largest of every child so far).
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                raise BenchError(f"{name}: timed out after {COMMAND_TIMEOUT} s")
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if process.returncode != 0:
        raise BenchError(f"{name} exited with {process.returncode}:\n{stderr[-2000:]}")
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return stdout, usage.ru_maxrss / scale


def timed(env: dict, *arguments: str) -> Run:
    start = time.perf_counter()
    output, peak_mb = run_measured([PYTHON, "manage.py", *arguments], env=env)
    return Run(time.perf_counter() - start, peak_mb, output)


def expect(output: str, summary: str) -> None:
    if summary not in output:
        raise BenchError(f"expected “{summary}”, the import said:\n{output[-2000:]}")


def print_table(rows) -> None:
    header = ["cards", "command", "seconds", "cards/s", "peak MB"]
    print(f"{'backend':<10}" + "".join(f"{name:>10}" for name in header))
    for backend, size, runs in rows:
        for command, measured in runs.items():
            rate = size / measured.seconds
            print(
                f"{backend:<10}{size:>10,}{command:>10}{measured.seconds:>10.2f}"
                f"{rate:>10,.0f}{measured.peak_mb:>10.0f}"
            )


if __name__ == "__main__":
    sys.exit(main())
