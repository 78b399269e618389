"""A throwaway database for a benchmark: SQLite in its temporary folder, or PostgreSQL on
this machine (created for the run and dropped after it, never one the script did not make)."""

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK = {None, "127.0.0.1", "localhost", "::1"}


@contextmanager
def database(url: str | None, tmp: Path, name_prefix: str):
    """Yield the DATABASE_URL of a fresh database; a PostgreSQL one is dropped afterwards."""
    if url is None:
        yield f"sqlite:///{tmp / 'bench.sqlite3'}"
        return
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit(f"--database-url must be a postgres:// URL, not {url!r}")
    if parts.hostname not in LOOPBACK:
        sys.exit("--database-url must point at this machine (127.0.0.1)")
    name = parts.path.strip("/") or f"{name_prefix}_{os.getpid()}"
    pg = [
        *("-h", parts.hostname or "127.0.0.1"),
        *("-p", str(parts.port or 5432)),
        *("-U", parts.username or "postgres"),
    ]
    env = {**os.environ, **({"PGPASSWORD": parts.password} if parts.password else {})}
    # createdb fails if the database exists: the script never drops what it did not create.
    created = subprocess.run(["createdb", *pg, name], env=env, capture_output=True, text=True)
    if created.returncode != 0:
        sys.exit(f"createdb {name}: {created.stderr.strip()}")
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        dropped = subprocess.run(
            ["dropdb", *pg, "--if-exists", "--force", name], env=env, capture_output=True, text=True
        )
        if dropped.returncode != 0:
            print(f"WARNING: could not drop database {name}: {dropped.stderr}", file=sys.stderr)


def synthetic_leaves(sections: int, leaves: int) -> list:
    """Bulk-create ``sections`` sections and ``leaves`` categories spread over them, the tree
    the synthetic benchmarks fill; return the leaves. Needs Django set up and a transaction."""
    from explainers.models import Category

    roots = Category.objects.bulk_create(
        Category(name=f"Section {n}", slug=f"section-{n}", path=f"section-{n}", position=n)
        for n in range(sections)
    )
    return Category.objects.bulk_create(
        Category(
            name=f"Category {n}",
            slug=f"category-{n}",
            parent=roots[n % sections],
            path=f"{roots[n % sections].slug}/category-{n}",
            position=n // sections,
        )
        for n in range(leaves)
    )
