"""schema.org JSON-LD for search engines, built from what the page shows (absolute URLs only)."""

from django.templatetags.static import static
from django.urls import reverse

from .site import site_details

SCHEMA = "https://schema.org"


def publisher(request) -> dict:
    """The site's publisher, with the address and logo search engines ask of one."""
    site = site_details()
    return {
        "@type": "Organization",
        "name": site.publisher_name,
        "url": site.publisher_url,
        "logo": {
            "@type": "ImageObject",
            "url": request.build_absolute_uri(static(site.publisher_logo)),
        },
    }


def website(request) -> dict:
    """The site itself, and how to search it (for the home page)."""
    site = site_details()
    search_url = request.build_absolute_uri(reverse("explainers:search"))
    return {
        "@context": SCHEMA,
        "@type": "WebSite",
        "name": site.name,
        "description": site.description,
        "url": request.build_absolute_uri(reverse("explainers:home")),
        "publisher": publisher(request),
        "potentialAction": {
            "@type": "SearchAction",
            "target": {
                "@type": "EntryPoint",
                "urlTemplate": f"{search_url}?q={{search_term_string}}",
            },
            "query-input": "required name=search_term_string",
        },
    }


def breadcrumb_list(request, breadcrumbs) -> dict:
    return {
        "@context": SCHEMA,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": position,
                "name": label,
                "item": request.build_absolute_uri(url),
            }
            for position, (label, url) in enumerate(breadcrumbs, start=1)
        ],
    }


def article(request, explainer) -> dict:
    organization = publisher(request)
    data = {
        "@context": SCHEMA,
        "@type": "Article",
        "headline": explainer.title,
        "description": explainer.excerpt,
        "url": request.build_absolute_uri(explainer.get_absolute_url()),
        "mainEntityOfPage": request.build_absolute_uri(explainer.get_absolute_url()),
        "dateModified": explainer.last_modified.isoformat(),
        # Explainers carry no byline: the publisher signs them.
        "author": organization,
        "publisher": organization,
        "articleSection": explainer.category.name,
        "timeRequired": f"PT{explainer.reading_time}M",
    }
    if explainer.published_at:
        data["datePublished"] = explainer.published_at.isoformat()
    if explainer.hero:
        data["image"] = [request.build_absolute_uri(explainer.hero.social_image().url)]
    return data


def collection_page(request, *, name, description, page_obj, subcategories=()) -> dict:
    """A listing page: what it lists, in the order shown (its subcategories, then this page's
    explainers, numbered on from the pages before, as ``listing_cards`` gives them)."""
    entries = [(category.name, category.get_absolute_url()) for category in subcategories]
    first_explainer = len(entries) + page_obj.start_index()
    items = [
        list_item(request, position, label, url)
        for position, (label, url) in enumerate(entries, start=1)
    ] + [
        list_item(request, position, explainer.title, explainer.listing_url)
        for position, explainer in enumerate(page_obj, start=first_explainer)
    ]
    return {
        "@context": SCHEMA,
        "@type": "CollectionPage",
        "name": name,
        "description": description,
        # The page's one address, as its canonical link: no other parameter, no "?page=1".
        "url": request.build_absolute_uri(
            request.path if page_obj.number == 1 else f"{request.path}?page={page_obj.number}"
        ),
        "mainEntity": {"@type": "ItemList", "numberOfItems": len(items), "itemListElement": items},
    }


def list_item(request, position, name, url) -> dict:
    return {
        "@type": "ListItem",
        "position": position,
        "url": request.build_absolute_uri(url),
        "name": name,
    }
