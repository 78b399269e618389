"""Readers' pages at scale: counts over a three-level tree, and (on PostgreSQL) query plans
that read the listing indexes instead of every explainer."""

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from explainers import views
from explainers.feeds import CategoryFeed, ExplainerFeed, SeriesFeed
from explainers.models import (
    RELATED_CANDIDATES,
    Category,
    Explainer,
    Series,
    SeriesItem,
)
from explainers.pagination import ListingPaginator

from .helpers import make_category, make_explainer, page_soup

pytestmark = pytest.mark.django_db

DAY = timezone.timedelta(days=1)


def listed_counts(soup):
    return [
        (item.h3.get_text(strip=True), item.select_one(".category-count").get_text(strip=True))
        for item in soup.select(".category-item")
    ]


@pytest.fixture
def three_levels():
    """Sections, their categories and those categories' own, with explainers in the leaves
    (and one in a middle category); drafts and scheduled ones in places, which never count.
    "model_zoo" and "modelxzoo" are siblings: a path pattern that let "_" match any character
    would count the one's explainers in the other."""
    now = timezone.now()
    principles = make_category("AI Principles")
    foundations = make_category("Foundations", parent=principles)
    zoo = make_category("Model Zoo", parent=principles, slug="model_zoo")
    lookalike = make_category("Modelxzoo", parent=principles, slug="modelxzoo")
    make_category("Empty", parent=principles)
    applied = make_category("Applied")
    agents = make_category("Agents", parent=applied)

    def fill(category, published, *, drafts=0, scheduled=0):
        for number in range(published):
            make_explainer(category, f"{category.path} {number}")
        for number in range(drafts):
            make_explainer(category, f"{category.path} draft {number}", status="draft")
        for number in range(scheduled):
            make_explainer(category, f"{category.path} later {number}", published_at=now + DAY)

    fill(make_category("Tokens", parent=foundations), 2, drafts=1, scheduled=1)
    fill(make_category("Attention", parent=foundations), 3, drafts=2)
    fill(make_category("CNN", parent=zoo), 1, scheduled=2)
    fill(make_category("RNN", parent=lookalike), 4)
    fill(make_category("Tools", parent=agents), 1, drafts=1)
    fill(agents, 1, scheduled=1)
    return principles


def test_home_counts_each_category_with_its_subcategories(client, three_levels):
    soup = page_soup(client.get("/"))

    assert listed_counts(soup) == [
        ("Foundations", "5 explainers"),
        ("Model Zoo", "1 explainer"),
        ("Modelxzoo", "4 explainers"),
        ("Empty", "0 explainers"),
        ("Agents", "2 explainers"),
    ]


def test_section_and_category_pages_count_their_subcategories_subtrees(client, three_levels):
    section = page_soup(client.get("/ai-principles/"))
    middle = page_soup(client.get("/ai-principles/foundations/"))

    assert listed_counts(section) == [
        ("Foundations", "5 explainers"),
        ("Model Zoo", "1 explainer"),
        ("Modelxzoo", "4 explainers"),
        ("Empty", "0 explainers"),
    ]
    assert listed_counts(middle) == [("Tokens", "2 explainers"), ("Attention", "3 explainers")]


def test_a_sections_count_holds_every_level_under_it(three_levels):
    counts = dict(Category.objects.with_published_counts().values_list("path", "published_count"))

    assert counts["ai-principles"] == 10
    assert counts["applied"] == 2
    assert counts["ai-principles/foundations/tokens"] == 2
    assert counts == {
        category.path: category.descendants_and_self()
        .filter(explainers__in=Explainer.objects.published())
        .count()
        for category in Category.objects.all()
    }


@pytest.mark.parametrize("orphans", [0, 7])
def test_every_page_of_a_listing_holds_its_own_rows_whichever_end_it_is_read_from(
    category, orphans
):
    """Pages past the middle are read from the end: each still holds exactly its rows, in
    the listing's order, through the last (short or with its orphans)."""
    for number in range(47):
        make_explainer(category, f"Listed {number}", position=number)
    listing = Explainer.objects.published().filter(category=category).order_by("position", "pk")
    pages = ListingPaginator(listing, 10, orphans=orphans)
    titles = [
        [explainer.title for explainer in pages.page(number).object_list]
        for number in pages.page_range
    ]

    assert [title for page in titles for title in page] == [f"Listed {n}" for n in range(47)]
    assert [len(page) for page in titles] == (
        [10, 10, 10, 10, 7] if not orphans else [10] * 3 + [17]
    )
    with CaptureQueriesContext(connection) as queries:
        list(pages.page(4).object_list)
    assert " DESC" in queries[-1]["sql"]  # from the end: the listing's order reversed


@pytest.mark.parametrize(
    "size, orphans, shown", [(0, 0, 0), (10, 0, 10), (11, 0, 10), (12, 3, 12), (14, 3, 10)]
)
def test_the_first_page_brings_the_listings_size_in_its_own_query(category, size, orphans, shown):
    """Page 1 is read with the listing's size: one query, and the same rows, count and next
    page as Paginator's COUNT then SELECT, orphans and all."""
    for number in range(size):
        make_explainer(category, f"Listed {number}", position=number)
    make_explainer(category, "Draft", status=Explainer.Status.DRAFT, position=size)
    listing = Explainer.objects.published().filter(category=category).order_by("position", "pk")
    pages = ListingPaginator(listing, 10, orphans=orphans)

    with CaptureQueriesContext(connection) as queries:
        first = pages.page(1)
        titles = [explainer.title for explainer in first.object_list]
        count, has_next = pages.count, first.has_next()

    assert len(queries) == 1
    assert titles == [f"Listed {n}" for n in range(shown)]
    assert count == size
    assert has_next == (size > shown)
    if has_next:
        assert [e.title for e in pages.page(2).object_list] == [
            f"Listed {n}" for n in range(shown, size)
        ]


def test_related_candidates_cover_what_the_detail_page_shows():
    # The page leaves out its previous and next (two) from related_to()'s first ones.
    assert views.RELATED_COUNT + 2 <= RELATED_CANDIDATES


def test_related_puts_series_first_and_fills_from_the_category_newest_first(category):
    now = timezone.now()
    other = make_category("Elsewhere", parent=category.parent)
    explainer = make_explainer(category, "Here")
    explainer.series.add("Bridge")
    in_category = [
        make_explainer(category, f"Category {n}", published_at=now - (n + 2) * DAY)
        for n in range(8)
    ]
    for number in range(3):
        make_explainer(
            other, f"Series {number}", published_at=now - (10 + number) * DAY
        ).series.add("Bridge")
    in_category[5].series.add("Bridge")
    make_explainer(other, "Unrelated")
    series_ids = [Series.objects.get(name="Bridge").pk]

    related = Explainer.objects.published().related_to(explainer, series_ids)

    # Good for the first RELATED_CANDIDATES (5): the 4 sharing the series, the newest first
    # (one of them in the category), then the category's newest.
    assert [e.title for e in related[:RELATED_CANDIDATES]] == [
        "Category 5",
        "Series 0",
        "Series 1",
        "Series 2",
        "Category 0",
    ]
    assert [e.title for e in related.exclude(title="Series 1")[: RELATED_CANDIDATES - 1]] == [
        "Category 5",
        "Series 0",
        "Series 2",
        "Category 0",
    ]


# PostgreSQL: query plans over a few thousand rows.

SECTIONS, MIDDLES, LEAVES, PER_LEAF = 4, 5, 6, 30  # 144 categories, 3,600 explainers


def build_site(sections=SECTIONS, middles=MIDDLES, leaves=LEAVES, per_leaf=PER_LEAF):
    """A three-level tree filled by bulk_create: explainers in the leaves, one in ten a
    draft and one in twenty scheduled; a big series (a third of them) and a small one."""
    now = timezone.now()

    def level(names):
        return Category.objects.bulk_create(
            Category(parent=parent, name=name, slug=slug, path=path, position=position)
            for parent, name, slug, path, position in names
        )

    tops = level((None, f"Section {s}", f"s{s}", f"s{s}", s) for s in range(sections))
    mids = level(
        (top, f"Middle {m}", f"m{m}", f"{top.path}/m{m}", m) for top in tops for m in range(middles)
    )
    ends = level(
        (mid, f"Leaf {n}", f"l{n}", f"{mid.path}/l{n}", n) for mid in mids for n in range(leaves)
    )
    explainers, number, total = [], 0, len(ends) * per_leaf
    for leaf in ends:
        for position in range(per_leaf):
            number += 1
            # Publication times spread over the tree (as categories grow side by side).
            minutes = 1 + (number * 7919) % total
            status, published_at = "published", now - timezone.timedelta(minutes=minutes)
            if number % 10 == 9:
                status = "draft"
            elif number % 20 == 7:
                published_at = now + DAY
            explainers.append(
                Explainer(
                    category=leaf,
                    title=f"Explainer {number}",
                    slug=f"explainer-{number}",
                    excerpt=f"What explainer {number} explains, in a sentence or two. " * 4,
                    reading_time=5,
                    status=status,
                    published_at=published_at,
                    position=position,
                )
            )
    explainers = Explainer.objects.bulk_create(explainers, batch_size=1000)
    big = Series.objects.create(name="Big series", slug="big-series")
    small = Series.objects.create(name="Small series", slug="small-series")
    SeriesItem.objects.bulk_create(
        [SeriesItem(tag=big, content_object=e) for e in explainers[::3]]
        + [SeriesItem(tag=small, content_object=e) for e in explainers[5::97]],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        for table in ["explainers_category", "explainers_explainer", "explainers_seriesitem"]:
            cursor.execute(f"ANALYZE {table}")
    return ends


def planned_queries(site, leaf=None):
    """(name, queryset) for each listing query readers' pages run, as the views and feeds
    build them, for a ``leaf`` category of the ``site`` and its explainers."""
    leaf = leaf or site[len(site) // 2]
    middle, section = leaf.parent, leaf.parent.parent
    published = Explainer.objects.published()

    category_page = views.CategoryView(kwargs={"chain": Category.objects.chain_to(leaf.path)})
    listing = category_page.get_queryset()

    def last_page(listing):
        # As the views slice it: ids from the listing's index, then the page's rows joined.
        pages = ListingPaginator(listing, views.CARDS_PER_PAGE)
        return pages.page_rows((pages.num_pages - 1) * pages.per_page, pages.count)

    queries = [
        # Page 1 with the listing's size (ListingPaginator.first_page()).
        ("category page", ListingPaginator(listing, views.CARDS_PER_PAGE).first_page_rows()),
        ("category page, last page", last_page(listing)),
        ("section's counts", section.children.with_published_counts()),
        (
            "home's counts",
            Category.objects.filter(
                Q(parent=None) | Q(parent__parent=None)
            ).with_published_counts(),
        ),
        ("home's latest", published.for_cards().order_by("-published_at", "pk")[:6]),
        ("feed", ExplainerFeed().items()),
        ("section feed", CategoryFeed().items(section)),
        ("category feed", CategoryFeed().items(middle)),
    ]
    for series in Series.objects.all():
        page = views.SeriesView(kwargs={"slug": series.slug}).get_queryset()
        queries += [
            (f"{series.name} page", page[:30]),
            (f"{series.name} feed", SeriesFeed().items(series)),
        ]
    for name, explainer in [
        ("first", published.filter(category=leaf).order_by("position").first()),
        ("middle", published.filter(category=leaf).order_by("position")[10]),
        ("big series member", published.filter(series__slug="big-series").last()),
        ("small series member", published.filter(series__slug="small-series").first()),
    ]:
        # As the detail page has them (ExplainerDetailView.get_context_data).
        series_ids = list(explainer.series.values_list("pk", flat=True))
        shown = [e.pk for e in explainer.neighbours(published) if e is not None]
        related = published.related_to(explainer, series_ids).exclude(pk__in=shown)
        queries.append((f"related of the {name}", related.for_cards()[: views.RELATED_COUNT]))
        before, after = explainer.neighbour_queries(published)
        queries += [(f"previous of the {name}", before[:1]), (f"next of the {name}", after[:1])]
    return queries


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="query plans are PostgreSQL's: SQLite has no planner statistics to check (CI also "
    "runs the suite on PostgreSQL)",
)
def test_on_postgresql_no_listing_query_reads_every_explainer():
    site = build_site()

    plans = {name: queryset.explain() for name, queryset in planned_queries(site)}

    scanned = {
        name: plan for name, plan in plans.items() if "Seq Scan on explainers_explainer" in plan
    }
    assert not scanned, "\n\n".join(f"{name}:\n{plan}" for name, plan in scanned.items())
    # The newest first, read in order from their index rather than sorted.
    for name in ["home's latest", "feed", "Big series page"]:
        assert "using explainer_latest_published on explainers_explainer" in plans[name], name
    # ... in the index's own order: no sort of what it gives, even of rows published at one
    # time (as an import publishes them).
    for name in ["home's latest", "feed"]:
        assert "Sort" not in plans[name], f"{name}:\n{plans[name]}"
