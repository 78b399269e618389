"""Parse scraped category listings into records, and merge what several listings say.

Pure functions: text in, records out. Every problem is a ``ListingError`` naming the file, the
line and what is wrong. The two formats are described in ``fixtures/listings/README.md``.
"""

import re
from dataclasses import dataclass, field

CARDS = "cards"
BREADCRUMBS = "breadcrumbs"

# "MONA explainer 13 min": the series, then the reading time. The minutes are checked apart so
# that "MONA explainer 1.5 min" is reported as a bad reading time, not as a missing line.
META_LINE = re.compile(r"^(?P<series>\S.*?)\s+(?P<minutes>\S+)\s+min$")
TRAIL_PREFIX = "- "
MAX_MINUTES = 999
# The models' limits (Explainer, HeroImage, Series, Category), checked here so that the error
# names the line.
MAX_LENGTHS = {
    "title": 300,
    "excerpt": 1000,
    "alt text": 500,
    "series": 100,
    "category name": 200,
    "category description": 2000,
}
# Control characters (C0 but tab, DEL, C1) and whole ANSI escape sequences: scraped text must
# not carry them into pages, nor into an operator's terminal through an error message.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without control characters or terminal escape sequences (tabs become spaces)."""
    return CONTROL_CHARACTERS.sub("", ANSI_ESCAPE.sub("", text)).replace("\t", " ")


class ListingError(Exception):
    def __init__(self, source: str, line: int | None, problem: str):
        source, problem = printable(source), printable(problem)
        self.source, self.line, self.problem = source, line, problem
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class ListingEntry:
    """One explainer as a listing shows it. Breadcrumb listings leave the card fields empty."""

    title: str
    excerpt: str
    line: int
    alt_text: str | None = None
    series: str | None = None
    minutes: int | None = None


@dataclass(frozen=True)
class Listing:
    source: str
    format: str
    category: str
    description: str
    # Names of the category's ancestors from the top, without "Home"; None when the
    # listing does not say (card listings have no breadcrumbs).
    ancestors: tuple[str, ...] | None
    entries: tuple[ListingEntry, ...]


@dataclass
class PlannedCategory:
    name: str
    description: str
    ancestors: tuple[str, ...] | None
    source: str


@dataclass
class PlannedExplainer:
    title: str
    excerpt: str
    category: str
    position: int
    source: str
    line: int
    alt_text: str | None = None
    series: str | None = None
    minutes: int | None = None


@dataclass
class ImportPlan:
    categories: list[PlannedCategory] = field(default_factory=list)
    explainers: list[PlannedExplainer] = field(default_factory=list)


def parse_listing(data: bytes, source: str) -> Listing:
    """Parse one listing file's bytes, detecting its format from the content."""
    lines = _decode_lines(data, source)
    start = next((i for i, line in enumerate(lines) if line), None)
    if start is None:
        raise ListingError(source, None, "the file is empty")
    numbered = list(enumerate(lines, start=1))[start:]
    if any(line.startswith(TRAIL_PREFIX) for _n, line in numbered[:8]):
        return _parse_breadcrumbs(numbered, source)
    if any(META_LINE.match(line) for _n, line in numbered):
        return _parse_cards(numbered, source)
    raise ListingError(
        source,
        None,
        "neither a card listing (no '<series> <N> min' line) "
        "nor a breadcrumb listing (no '- Home /' trail near the top)",
    )


def _decode_lines(data: bytes, source: str) -> list[str]:
    if b"\x00" in data:
        raise ListingError(source, data[: data.index(b"\x00")].count(b"\n") + 1, "binary data")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ListingError(
            source, line, f"not UTF-8 text (byte 0x{data[error.start]:02x})"
        ) from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [printable(line).strip() for line in lines]


def _non_blank(numbered):
    return [(number, line) for number, line in numbered if line]


def _check_length(source, line_number, what, value):
    if len(value) > MAX_LENGTHS[what]:
        raise ListingError(
            source,
            line_number,
            f"{what} is {len(value)} characters long (at most {MAX_LENGTHS[what]})",
        )


def _parse_header(numbered, source, *, blank_after_name: bool):
    """Return the category name, its description and the remaining numbered lines."""
    (name_line, name), rest = numbered[0], numbered[1:]
    _check_length(source, name_line, "category name", name)
    if blank_after_name:
        while rest and not rest[0][1]:
            rest = rest[1:]
    if not rest or not rest[0][1] or rest[0][1].startswith(TRAIL_PREFIX):
        raise ListingError(source, name_line + 1, "the category description is missing")
    (description_line, description), rest = rest[0], rest[1:]
    if META_LINE.match(description):
        raise ListingError(
            source, description_line, "the category description is missing (found a card here)"
        )
    _check_length(source, description_line, "category description", description)
    return name, description, rest


def _parse_cards(numbered, source) -> Listing:
    name, description, rest = _parse_header(numbered, source, blank_after_name=True)
    lines = _non_blank(rest)
    entries = []
    for index in range(0, len(lines), 4):
        card = lines[index : index + 4]
        alt_line, alt_text = card[0]
        if META_LINE.match(alt_text):
            raise ListingError(
                source, alt_line, "card has no alt text before its series and minutes"
            )
        _check_length(source, alt_line, "alt text", alt_text)
        if len(card) < 2 or not META_LINE.match(card[1][1]):
            found = f"found “{card[1][1]}”" if len(card) > 1 else "found the end of the file"
            number = card[1][0] if len(card) > 1 else alt_line
            raise ListingError(
                source,
                number,
                f"card is missing its series and reading time line "
                f"(expected e.g. 'MONA explainer 13 min' after the alt text, {found})",
            )
        meta_line, meta = card[1]
        match = META_LINE.match(meta)
        series, minutes = match["series"], match["minutes"]
        if not minutes.isdigit() or not 1 <= int(minutes) <= MAX_MINUTES:
            raise ListingError(
                source,
                meta_line,
                f"reading time “{minutes}” is not a positive whole number of minutes "
                f"(1 to {MAX_MINUTES})",
            )
        _check_length(source, meta_line, "series", series)
        if len(card) < 4:
            raise ListingError(source, meta_line, "card ends without a title and an excerpt")
        (title_line, title), (excerpt_line, excerpt) = card[2], card[3]
        _check_length(source, excerpt_line, "excerpt", excerpt)
        for number, text in card[2:]:
            if META_LINE.match(text):
                raise ListingError(
                    source,
                    number,
                    "expected a title or an excerpt, found a series and reading time",
                )
        _check_length(source, title_line, "title", title)
        entries.append(
            ListingEntry(
                title=title,
                excerpt=excerpt,
                line=title_line,
                alt_text=alt_text,
                series=series,
                minutes=int(minutes),
            )
        )
    return Listing(source, CARDS, name, description, None, tuple(entries))


def _parse_breadcrumbs(numbered, source) -> Listing:
    name, description, rest = _parse_header(numbered, source, blank_after_name=False)
    trail, trail_line = [], rest[0][0] if rest else None
    while rest and rest[0][1].startswith(TRAIL_PREFIX):
        crumb = rest.pop(0)[1][len(TRAIL_PREFIX) :].rstrip("/").strip()
        trail.append(crumb)
    if not trail or trail[0] != "Home" or trail[-1] != name:
        raise ListingError(
            source,
            trail_line,
            f"breadcrumbs must run from 'Home' to the category “{name}”, "
            f"found {' / '.join(trail)!r}",
        )
    for crumb in trail[1:-1]:
        _check_length(source, trail_line, "category name", crumb)

    entries, block = [], []
    for number, line in rest + [(None, "")]:
        if line:
            block.append((number, line))
            continue
        # A capture can drop the blank line between two items, so a block holds pairs.
        if len(block) % 2:
            raise ListingError(
                source, block[-1][0], f"item “{block[-1][1]}” has no excerpt (or no title)"
            )
        for (title_line, title), (excerpt_line, excerpt) in zip(
            block[::2], block[1::2], strict=True
        ):
            _check_length(source, title_line, "title", title)
            _check_length(source, excerpt_line, "excerpt", excerpt)
            entries.append(ListingEntry(title=title, excerpt=excerpt, line=title_line))
        block = []
    return Listing(source, BREADCRUMBS, name, description, tuple(trail[1:-1]), tuple(entries))


def merge_listings(listings: list[Listing]) -> ImportPlan:
    """Merge listings into one plan: categories with their place, explainers in listing order.

    Explainers are matched by title. Card listings give alt text, series and minutes;
    breadcrumb listings give the category's ancestors. Pages of a category follow the order
    of ``listings``. Two listings that disagree about a category or an explainer are an error.
    """
    plan = ImportPlan()
    categories: dict[str, PlannedCategory] = {}
    explainers: dict[str, PlannedExplainer] = {}
    # Titles per category and format, in listing order, with the file that first listed them.
    order: dict[str, dict[str, dict[str, str]]] = {}

    for listing in listings:
        known = categories.get(listing.category)
        if known is None:
            known = categories[listing.category] = PlannedCategory(
                listing.category, listing.description, listing.ancestors, listing.source
            )
            plan.categories.append(known)
        elif known.description != listing.description:
            raise _conflict(
                listing.source,
                None,
                f"category “{listing.category}”",
                "description",
                listing.description,
                known.description,
                known.source,
            )
        elif listing.ancestors is not None:
            if known.ancestors is not None and known.ancestors != listing.ancestors:
                raise _conflict(
                    listing.source,
                    None,
                    f"category “{listing.category}”",
                    "breadcrumbs",
                    " / ".join(listing.ancestors),
                    " / ".join(known.ancestors),
                    known.source,
                )
            known.ancestors = listing.ancestors

        sequence = order.setdefault(listing.category, {CARDS: {}, BREADCRUMBS: {}})[listing.format]
        for entry in listing.entries:
            # Pages scraped while the site changed can repeat a card: the repeat must agree
            # with the first (checked by _merge_entry) and keeps the first one's place.
            if sequence.get(entry.title) == listing.source:
                raise ListingError(
                    listing.source, entry.line, f"“{entry.title}” is listed twice in this file"
                )
            sequence.setdefault(entry.title, listing.source)
            _merge_entry(explainers, listing, entry)

    for sequences in order.values():
        titles = list(sequences[CARDS]) + [
            title for title in sequences[BREADCRUMBS] if title not in sequences[CARDS]
        ]
        for position, title in enumerate(titles):
            explainers[title].position = position
            plan.explainers.append(explainers[title])
    return plan


def _merge_entry(explainers, listing: Listing, entry: ListingEntry):
    planned = explainers.get(entry.title)
    if planned is None:
        explainers[entry.title] = PlannedExplainer(
            title=entry.title,
            excerpt=entry.excerpt,
            category=listing.category,
            position=0,
            source=listing.source,
            line=entry.line,
            alt_text=entry.alt_text,
            series=entry.series,
            minutes=entry.minutes,
        )
        return
    subject = f"“{entry.title}”"
    compared = [
        ("category", listing.category, planned.category),
        ("excerpt", entry.excerpt, planned.excerpt),
    ]
    if listing.format == CARDS and planned.minutes is not None:
        compared += [
            ("alt text", entry.alt_text, planned.alt_text),
            ("series", entry.series, planned.series),
            ("reading time", entry.minutes, planned.minutes),
        ]
    for what, theirs, ours in compared:
        if theirs != ours:
            raise _conflict(
                listing.source,
                entry.line,
                subject,
                what,
                theirs,
                ours,
                f"{planned.source}:{planned.line}",
            )
    if listing.format == CARDS:
        planned.alt_text, planned.series, planned.minutes = (
            entry.alt_text,
            entry.series,
            entry.minutes,
        )
        planned.source, planned.line = listing.source, entry.line


def _conflict(source, line, subject, what, theirs, ours, other_place):
    return ListingError(
        source, line, f"{subject}: {what} “{theirs}” disagrees with “{ours}” in {other_place}"
    )
