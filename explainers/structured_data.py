"""schema.org JSON-LD for search engines, built from what the page shows (absolute URLs only)."""

SCHEMA = "https://schema.org"
PUBLISHER = {"@type": "Organization", "name": "AI Explainers"}


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
    data = {
        "@context": SCHEMA,
        "@type": "Article",
        "headline": explainer.title,
        "description": explainer.excerpt,
        "url": request.build_absolute_uri(explainer.get_absolute_url()),
        "mainEntityOfPage": request.build_absolute_uri(explainer.get_absolute_url()),
        "dateModified": explainer.updated_at.isoformat(),
        "publisher": PUBLISHER,
        "articleSection": explainer.category.name,
        "timeRequired": f"PT{explainer.reading_time}M",
    }
    if explainer.published_at:
        data["datePublished"] = explainer.published_at.isoformat()
    if explainer.hero:
        data["image"] = [request.build_absolute_uri(explainer.hero.social_image().url)]
    return data


def collection_page(request, category, page_obj) -> dict:
    return {
        "@context": SCHEMA,
        "@type": "CollectionPage",
        "name": category.name,
        "description": category.description,
        # The page's one address, as its canonical link: no other parameter, no "?page=1".
        "url": request.build_absolute_uri(
            request.path if page_obj.number == 1 else f"{request.path}?page={page_obj.number}"
        ),
        "mainEntity": {
            "@type": "ItemList",
            "numberOfItems": page_obj.paginator.count,
            "itemListElement": [
                {
                    "@type": "ListItem",
                    "position": position,
                    "url": request.build_absolute_uri(explainer.get_absolute_url()),
                    "name": explainer.title,
                }
                for position, explainer in enumerate(page_obj, start=page_obj.start_index())
            ],
        },
    }
