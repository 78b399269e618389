"""Benchmark the Markdown renderer on bodies made to be slow: seconds per input.

For each pathological pattern (``[`` repeated, ``<div>`` repeated, unclosed images,
unbalanced emphasis, abbreviation-like lines, deep nesting, ...) and each size it builds a
body of exactly that many characters and times ``explainers.markup.render_markdown`` on it
(the renderer editors' bodies go through when an explainer is saved, and the admin preview).

If Python-Markdown is still importable, it times the renderer the site had before too
(Python-Markdown with ``extra`` and ``sane_lists``, then the same nh3 cleaning), each run
in a child process stopped after ``--old-timeout`` seconds: it is super-linear, and 100,000
"[" would take it a quarter of an hour. Sizes above ``--old-max`` are not tried with it;
what it raised instead of rendering (RecursionError) is shown in place of a time.

Run from the project folder, with the project's virtualenv:

    .venv/bin/python bench/markdown_bench.py
    .venv/bin/python bench/markdown_bench.py --sizes 10000 100000 --old-max 20000

It exits non-zero if the new renderer takes longer than ``--budget`` seconds on any input.
Last it times a real document, the project's README.md, for what an ordinary body costs.
"""

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")

# name -> the pattern repeated to make a body.
PATTERNS = {
    "open brackets": "[",
    "close brackets": "]",
    "div tags": "<div>",
    "ol tags": "<ol>",
    "dl tag blocks": "<dl>\n\n",
    "inline pre tags": "a <pre> ",
    "attributes": "<a x ",
    "unclosed images": "![a](",
    "image labels": "![",
    "unclosed links": "[a](",
    "unbalanced emphasis": "*a **b ",
    "underscores": "_a __b ",
    "strikethrough": "~~a ",
    "backticks": "`",
    "stars": "*",
    "abbreviation lines": "*[HTML]: x\n",
    "footnote refs": "[^1]",
    "footnote defs": "[^a]: x\n",
    "reference defs": "[a]: b\n",
    "definition lists": "a\n: b\n",
    "nested quotes": ">",
    "nested lists": "- ",
    "table cells": "|a",
    "table rows": "|a|b|\n|-|-|\n",
    "nested ordered lists": "1. ",
    "footnote openers": "[^",
    "brackets before backticks": "[`",
    "html comments": "<!--",
    "entities": "&#",
    "autolinks": "<a:",
    "escapes": "\\",
}


def body(pattern: str, size: int) -> str:
    return (pattern * (size // len(pattern) + 1))[:size]


def old_render_markdown(text: str) -> str:
    """The renderer as it was before markdown-it-py (explainers/markup.py)."""
    import markdown
    import nh3

    from explainers.markup import (
        ALLOWED_ATTRIBUTES,
        ALLOWED_TAGS,
        ALLOWED_URL_SCHEMES,
        TOP_HEADING,
    )

    html = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    html = TOP_HEADING.sub(r"<\1h2", html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def seconds(render, text: str) -> float:
    started = time.perf_counter()
    render(text)
    return time.perf_counter() - started


def _old_in_child(text: str, answer) -> None:
    try:
        answer.send(seconds(old_render_markdown, text))
    except Exception as error:  # the old renderer also fails outright (RecursionError)
        answer.send(type(error).__name__)


def old_result(text: str, timeout: float) -> str:
    """The old renderer's time, what it raised, or that it was stopped after ``timeout``."""
    receiving, sending = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.Process(target=_old_in_child, args=(text, sending), daemon=True)
    child.start()
    if receiving.poll(timeout):
        result = receiving.recv()
        child.join()
        return f"{result:.3f}" if isinstance(result, float) else result
    child.kill()
    child.join()
    return f">{timeout:.0f}s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--old-max", type=int, default=20_000, help="largest size for the old")
    parser.add_argument("--old-timeout", type=float, default=30.0, help="seconds per old run")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds the new may take")
    parser.add_argument("--no-old", action="store_true", help="time the new renderer only")
    parser.add_argument("--patterns", nargs="+", choices=PATTERNS, help="only these inputs")
    args = parser.parse_args()

    from explainers.markup import render_markdown

    try:
        import markdown  # noqa: F401

        compare = not args.no_old
    except ImportError:
        compare = False
        print("Python-Markdown is not installed: timing the new renderer only.")

    header = f"{'input':<26} {'chars':>8} {'new s':>8}" + (f" {'old s':>14}" if compare else "")
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name in args.patterns or PATTERNS:
        pattern = PATTERNS[name]
        for size in args.sizes:
            text = body(pattern, size)
            new = min(seconds(render_markdown, text) for _ in range(3))
            worst = max(worst, new)
            line = f"{name:<26} {size:>8} {new:>8.3f}"
            if compare:
                old = "(not tried)" if size > args.old_max else old_result(text, args.old_timeout)
                line += f" {old:>14}"
            print(line, flush=True)
    print(f"\nSlowest for the new renderer: {worst:.3f} s (budget {args.budget} s).")
    readme = (PROJECT / "README.md").read_text()
    typical = min(seconds(render_markdown, readme) for _ in range(5))
    print(f"A real document (README.md, {len(readme):,} characters): {typical * 1000:.1f} ms.")
    return 0 if worst <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
