"""Content health: what needs an editor's attention, defined once for the report and for
the publish step.

Each check is a condition over one model's own fields (a ``Q`` the database evaluates). The
report counts every check in one aggregate query per model; the change lists filter by the
same condition (``?health=<code>``); and the publish step asks the database to evaluate the
same conditions on the content about to be published, even when that content is only in a
form or in a pending version (``content_problems``). The report and the publish step
therefore cannot disagree about what a problem is.

Broken internal links are the one check a condition cannot express. They are read from the
stored, sanitized ``body_html`` (the Markdown is never parsed for the report), only of
explainers whose HTML has a link into the site, and resolved against categories, published
explainers and previous slugs in at most three queries, whatever the number of explainers.

The report covers what readers see or are about to see: published and scheduled explainers,
and the hero images they show. Drafts are checked when someone publishes them.
"""

import html
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Greatest, Length, Replace
from django.db.models.lookups import GreaterThan, LessThan
from django.db.models.sql import Query
from django.db.models.sql.constants import SINGLE
from django.urls import Resolver404, resolve, reverse

from .markup import render_markdown
from .models import WORDS_PER_MINUTE, Category, Explainer, HeroImage, PreviousSlug

SHORT_BODY_WORDS = 150
ALT_TEXT_MIN_LENGTH = 10
ALT_TEXT_MAX_LENGTH = 150


class Level(models.TextChoices):
    # Errors refuse publishing; warnings need an editor to say they have read them.
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"


@dataclass(frozen=True)
class Check:
    code: str
    level: Level
    label: str  # a row of the report, a choice of the change list's filter
    message: str  # what the publish step says about one explainer (a clause)
    # Over the fields of the model the check is about; None for the link check.
    condition: Q | None = None

    @property
    def is_error(self) -> bool:
        return self.level == Level.ERROR


@dataclass(frozen=True)
class Problem:
    """One check an explainer's content fails, with what is wrong in particular."""

    check: Check
    detail: str = ""

    @property
    def code(self) -> str:
        return self.check.code

    @property
    def level(self) -> Level:
        return self.check.level

    @property
    def is_error(self) -> bool:
        return self.check.is_error

    def __str__(self):
        return f"{self.check.message}: {self.detail}" if self.detail else self.check.message


def _whitespace(name: str):
    """How many spaces and line breaks a text field holds: about its words, less one."""
    text = F(name)
    squeezed = Replace(Replace(text, Value(" "), Value("")), Value("\n"), Value(""))
    return Length(text) - Length(squeezed)


# Words as the database counts them (spaces and line breaks): close to str.split() for prose.
BODY_WORDS = _whitespace("body") + 1
BLANK = r"^\s*$"
EMPTY_BODY = Q(body__regex=BLANK)
# The stated minutes and the body's (at WORDS_PER_MINUTE) are more than a minute and more
# than half the body's apart: "12 min" on an empty body, "3 min" on 4,000 words.
_STATED_WORDS = F("reading_time") * WORDS_PER_MINUTE
_ALLOWED_GAP = Greatest(Value(WORDS_PER_MINUTE), BODY_WORDS / 2)
READING_TIME_OFF = Q(GreaterThan(_STATED_WORDS - BODY_WORDS, _ALLOWED_GAP)) | Q(
    GreaterThan(BODY_WORDS - _STATED_WORDS, _ALLOWED_GAP)
)
ALT_BLANK = Q(alt_text__regex=BLANK)
# A picture's file name, as cameras, phones and screenshots name them. Written for both
# SQLite (Python's re) and PostgreSQL (no \b there).
FILE_NAME = (
    r"\.(jpe?g|png|gif|webp|avif|bmp|tiff?|heic|svg)\s*$"
    r"|^\s*(img|dsc|dscn|pxl|screenshot)[ _-]?[0-9]+"
)
# "Photo", "diagram" or "illustration" tell a reader something; "image of" does not.
IMAGE_OF = r"^\s*(an? )?(image|picture) of( |$)"

NO_EXCERPT = Check(
    "no_excerpt",
    Level.ERROR,
    "No excerpt",
    "it has no excerpt, which its card, search results and link previews show",
    Q(excerpt__regex=BLANK),
)
BROKEN_LINK = Check(
    "broken_link",
    Level.ERROR,
    "Links to explainers or categories that do not exist or are not published",
    "its body links to pages readers cannot open",
)
NO_HERO = Check(
    "no_hero",
    Level.WARNING,
    "No hero image",
    "it has no hero image, so its card and link previews show none",
    Q(hero_id__isnull=True),
)
EMPTY = Check(
    "empty_body",
    Level.WARNING,
    "Empty body",
    "its body is empty, so readers get only the title and the excerpt",
    EMPTY_BODY,
)
SHORT = Check(
    "short_body",
    Level.WARNING,
    f"Very short body (under {SHORT_BODY_WORDS} words)",
    f"its body is very short (under {SHORT_BODY_WORDS} words)",
    ~EMPTY_BODY & Q(LessThan(BODY_WORDS, SHORT_BODY_WORDS)),
)
READING_TIME = Check(
    "reading_time_off",
    Level.WARNING,
    "Reading time far from the body's length",
    "its reading time is far from its body's length",
    READING_TIME_OFF,
)
EXPLAINER_CHECKS = [NO_EXCERPT, BROKEN_LINK, NO_HERO, EMPTY, SHORT, READING_TIME]

HERO_CHECKS = [
    Check(
        "placeholder_hero",
        Level.WARNING,
        "Placeholder hero images",
        "its hero is the importer's placeholder, whose alt text describes a picture that is "
        "not there",
        Q(is_placeholder=True),
    ),
    Check("alt_missing", Level.WARNING, "Alt text missing", "its hero has no alt text", ALT_BLANK),
    Check(
        "alt_too_short",
        Level.WARNING,
        f"Alt text under {ALT_TEXT_MIN_LENGTH} characters",
        f"its hero's alt text is under {ALT_TEXT_MIN_LENGTH} characters, too short to say what "
        "it shows",
        ~ALT_BLANK & Q(LessThan(Length("alt_text"), ALT_TEXT_MIN_LENGTH)),
    ),
    Check(
        "alt_too_long",
        Level.WARNING,
        f"Alt text over {ALT_TEXT_MAX_LENGTH} characters",
        f"its hero's alt text is over {ALT_TEXT_MAX_LENGTH} characters, which screen readers "
        "read in full (move the detail to the caption)",
        Q(GreaterThan(Length("alt_text"), ALT_TEXT_MAX_LENGTH)),
    ),
    Check(
        "alt_file_name",
        Level.WARNING,
        "Alt text is a file name",
        "its hero's alt text is a file name",
        Q(alt_text__iregex=FILE_NAME),
    ),
    Check(
        "alt_image_of",
        Level.WARNING,
        "Alt text starts with “image of”",
        "its hero's alt text starts with “image of” or “picture of”, which screen readers "
        "already say",
        Q(alt_text__iregex=IMAGE_OF),
    ),
]

# Errors first: the report's order and the publish step's.
CHECKS = sorted([*EXPLAINER_CHECKS, *HERO_CHECKS], key=lambda check: not check.is_error)
BY_CODE = {check.code: check for check in CHECKS}

# The content fields the conditions read, as the publish step passes them to the database.
CONTENT_FIELDS = {
    "body": TextField(),
    "excerpt": TextField(),
    "reading_time": IntegerField(),
    "hero_id": BigIntegerField(),
}


def _flags() -> dict[str, models.Expression]:
    """Each condition as a boolean over an explainer's content fields (its hero's checks
    through ``hero_id``), named ``fails_<code>``."""
    flags = {}
    for check in EXPLAINER_CHECKS:
        if check.condition is not None:
            flags[check.code] = Case(
                When(check.condition, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
    for check in HERO_CHECKS:
        flags[check.code] = Exists(
            HeroImage.objects.filter(check.condition, pk=OuterRef("hero_id"))
        )
    return {f"fails_{code}": flag for code, flag in flags.items()}


# Reading an explainer's content


def content_problems(content: Mapping, *, body_html: str | None = None) -> list[Problem]:
    """What is wrong with ``content`` (``Explainer.content()``'s keys: body, excerpt,
    reading_time, hero_id, slug), by the report's own conditions.

    The content may exist only in memory (a form's input, a pending version): the database
    evaluates the conditions on its values, in one query without a table (as ``Q.check()``
    does), plus the link check's. ``body_html`` is the body's stored HTML if it is current.
    """
    query = Query(None)
    for name, field in CONTENT_FIELDS.items():
        query.add_annotation(Value(content.get(name), output_field=field), name, select=False)
    flags = _flags()
    for name, flag in flags.items():
        query.add_annotation(flag, name)
    row = query.get_compiler(DEFAULT_DB_ALIAS).execute_sql(SINGLE)
    failing = {name.removeprefix("fails_") for name, value in zip(flags, row, strict=True) if value}
    if body_html is None:
        body_html = render_markdown(content.get("body") or "")
    links = {None: (content.get("slug"), internal_links(body_html))}
    broken = broken_links(links).get(None, [])
    return _problems(failing, broken, content.get("body") or "", content.get("reading_time"))


def problems_by_explainer(explainers: QuerySet) -> dict[int, list[Problem]]:
    """What is wrong with each of ``explainers`` as stored (their rows, not pending
    versions), in at most five queries whatever their number."""
    flags = _flags()
    rows = (
        explainers.prefetch_related(None)
        .order_by()
        .annotate(**flags)
        .values("pk", "body", "reading_time", *flags)
    )
    broken = explainers_with_broken_links(explainers)
    return {
        row["pk"]: _problems(
            {name.removeprefix("fails_") for name in flags if row[name]},
            broken.get(row["pk"], []),
            row["body"],
            row["reading_time"],
        )
        for row in rows
    }


def _problems(failing: set[str], broken: list[str], body: str, minutes) -> list[Problem]:
    if broken:
        failing = {*failing, BROKEN_LINK.code}
    details = {
        BROKEN_LINK.code: ", ".join(broken),
        READING_TIME.code: f"it says {minutes} min, the body takes about "
        f"{Explainer.estimated_reading_time(body)}",
    }
    return [
        Problem(check, details.get(check.code, "")) for check in CHECKS if check.code in failing
    ]


# Publishing


def blocking(problems: Iterable[Problem], acknowledged: Collection[str]) -> list[Problem]:
    """What keeps content with ``problems`` from being published: its errors, or else the
    warnings whose codes are not among the ``acknowledged`` ones (those an editor was shown
    and said they had read)."""
    problems = list(problems)
    errors = [problem for problem in problems if problem.is_error]
    return errors or [p for p in problems if p.code not in acknowledged]


def publish_refusal(problems: Iterable[Problem], acknowledged: Collection[str]) -> str:
    """Why publishing content with ``problems`` is refused; "" if it is not."""
    holding = blocking(problems, acknowledged)
    if not holding:
        return ""
    reasons = "; ".join(map(str, holding))
    if holding[0].is_error:
        return f"Not published: {reasons}."
    return (
        f"Not published yet: {reasons}. "
        "Tick “I have read these warnings” to publish it all the same."
    )


def acknowledgement_note(problems: Iterable[Problem]) -> str:
    """What History keeps about the warnings an editor published with ("" if none)."""
    labels = [problem.check.label.lower() for problem in problems if not problem.is_error]
    return f"Warnings acknowledged: {'; '.join(labels)}." if labels else ""


def warning_codes(problems: Iterable[Problem]) -> list[str]:
    return [problem.code for problem in problems if not problem.is_error]


# Internal links


# nh3 writes every attribute in double quotes, with quotes inside escaped: a pattern reads
# the sanitized HTML reliably, without an HTML parser.
HREF = re.compile(r'<a\s[^>]*?\bhref="([^"]*)"')


def _site_netloc() -> str:
    return urlsplit(settings.SITE_URL).netloc.lower()


def internal_links(body_html: str) -> dict[str, tuple[str, str | None]]:
    """The links of ``body_html`` to an explainer or a category of this site, by path:
    (category path, slug or None). Relative to the site's root ("/ai-principles/") or
    absolute to ``SITE_URL``'s host; links to other sites and other pages are left out."""
    links = {}
    netloc = _site_netloc()
    for href in HREF.findall(body_html):
        parts = urlsplit(html.unescape(href).strip())
        if parts.scheme not in ("", "http", "https"):
            continue  # mailto:
        if parts.netloc:
            if parts.netloc.lower() != netloc:
                continue
        elif parts.scheme or not parts.path.startswith("/"):
            continue  # "#notes", or relative to the page
        path = unquote(parts.path)
        target = _page_named(path)
        if target is not None:
            links[path] = target
    return links


def _page_named(path: str) -> tuple[str, str | None] | None:
    # Without its final slash a path still works: CommonMiddleware adds it (APPEND_SLASH).
    for candidate in (path,) if path.endswith("/") else (path, f"{path}/"):
        try:
            match = resolve(candidate)
        except Resolver404:
            continue
        if match.view_name == "explainers:detail":
            return match.kwargs["category_path"], match.kwargs["slug"]
        if match.view_name == "explainers:category":
            return match.kwargs["category_path"], None
        return None  # the search page, a feed, the admin: not checked
    return None


def broken_links(links: Mapping) -> dict:
    """For each key of ``links`` ((own slug, internal_links()) pairs), the paths readers get
    a 404 for, in three queries at most. An explainer's page is found by its slug (under any
    category: the page redirects) or by a slug it had before (a 301), if it is published; a
    category's by its path. A link to the explainer's own slug is not broken."""
    targets = [target for _, paths in links.values() for target in paths.values()]
    category_paths = {path if slug is None else f"{path}/{slug}" for path, slug in targets}
    slugs = {slug for _, slug in targets if slug}
    categories, published, moved = set(), set(), set()
    if category_paths:
        categories = set(
            Category.objects.filter(path__in=category_paths)
            .order_by()
            .values_list("path", flat=True)
        )
    if slugs:
        published = set(
            Explainer.objects.published()
            .filter(slug__in=slugs)
            .order_by()
            .values_list("slug", flat=True)
        )
    if slugs - published:
        moved = set(
            PreviousSlug.objects.filter(
                slug__in=slugs - published, explainer__in=Explainer.objects.published()
            )
            .order_by()
            .values_list("slug", flat=True)
        )
    found = published | moved
    broken = {}
    for key, (own_slug, paths) in links.items():
        missing = sorted(
            path
            for path, (category_path, slug) in paths.items()
            if (category_path if slug is None else f"{category_path}/{slug}") not in categories
            and (slug is None or (slug not in found and slug != own_slug))
        )
        if missing:
            broken[key] = missing
    return broken


def _links_inside_the_site() -> Q:
    """Explainers whose HTML may link into the site: a cheap filter before reading it."""
    netloc = _site_netloc()
    return (
        Q(body_html__contains='href="/')
        | Q(body_html__contains=f'href="http://{netloc}')
        | Q(body_html__contains=f'href="https://{netloc}')
    )


def explainers_with_broken_links(explainers: QuerySet) -> dict[int, list[str]]:
    """Each of ``explainers`` whose stored body links to a page readers cannot open, with
    those links; four queries at most, whatever the number of explainers."""
    rows = (
        explainers.prefetch_related(None)
        .filter(_links_inside_the_site())
        .order_by()
        .values_list("pk", "slug", "body_html")
    )
    links = {pk: (slug, internal_links(body)) for pk, slug, body in rows.iterator(chunk_size=2000)}
    return broken_links({pk: found for pk, found in links.items() if found[1]})


# The report and the change lists


def failing_explainers(explainers: QuerySet, code: str) -> QuerySet:
    """The published or scheduled explainers among ``explainers`` that fail check ``code``."""
    live = explainers.live()
    if code == BROKEN_LINK.code:
        return live.filter(pk__in=list(explainers_with_broken_links(live)))
    return live.filter(BY_CODE[code].condition)


def failing_heroes(heroes: QuerySet, code: str) -> QuerySet:
    """The heroes among ``heroes`` that a published or scheduled explainer shows and that
    fail check ``code``."""
    return heroes.used_by_live().filter(BY_CODE[code].condition)


@dataclass
class ReportRow:
    check: Check
    count: int
    model: type[models.Model]  # what is counted
    url: str  # the change list showing exactly the counted ones

    @property
    def counted(self) -> str:
        """ "85 hero images", "1 explainer"."""
        meta = self.model._meta
        return f"{self.count} {meta.verbose_name if self.count == 1 else meta.verbose_name_plural}"


@dataclass
class Report:
    rows: list[ReportRow]
    explainers: int  # published or scheduled
    heroes: int  # shown by those

    @property
    def errors(self) -> int:
        return sum(row.count for row in self.rows if row.check.is_error)

    @property
    def warnings(self) -> int:
        return sum(row.count for row in self.rows if not row.check.is_error)


def health_report() -> Report:
    """Every check's count, in at most six queries whatever the size of the site: one
    aggregate over the published and scheduled explainers, one over their heroes, and the
    link check's."""
    live = Explainer.objects.live()
    in_database = [check for check in EXPLAINER_CHECKS if check.condition is not None]
    explainer_counts = live.aggregate(
        total=Count("pk"),
        **{check.code: Count("pk", filter=check.condition) for check in in_database},
    )
    explainer_counts[BROKEN_LINK.code] = len(explainers_with_broken_links(live))
    hero_counts = HeroImage.objects.used_by_live().aggregate(
        total=Count("pk"),
        **{check.code: Count("pk", filter=check.condition) for check in HERO_CHECKS},
    )
    explainer_list = reverse("admin:explainers_explainer_changelist")
    hero_list = reverse("admin:explainers_heroimage_changelist")
    rows = []
    for check in CHECKS:
        if check in HERO_CHECKS:
            url = f"{hero_list}?health={check.code}"
            rows.append(ReportRow(check, hero_counts[check.code], HeroImage, url))
        else:
            # Everyone's: a contributor's list otherwise starts on their own.
            url = f"{explainer_list}?health={check.code}&owner=everyone"
            rows.append(ReportRow(check, explainer_counts[check.code], Explainer, url))
    return Report(rows, explainer_counts["total"], hero_counts["total"])
