"""reverse() for URLs that pages print by the hundred.

A card grid prints some 200 URLs (explainers, series, image renditions). reverse() resolves
the pattern every time; here each pattern is reversed once, with placeholders, into a format
string that later calls fill in. Only for routes whose converters accept any slug-like value.
The URLs themselves are remembered too: a card's link appears on the card and in the page's
JSON-LD, and the same pages are rendered again and again.
"""

from functools import lru_cache
from urllib.parse import quote

from django.urls import reverse


@lru_cache(maxsize=8192)
def fast_reverse(name: str, **kwargs: str) -> str:
    template = _template(name, tuple(sorted(kwargs)))
    return template.format_map({key: quote(str(value)) for key, value in kwargs.items()})


@lru_cache(maxsize=32)
def _template(name: str, keys: tuple[str, ...]) -> str:
    placeholders = {key: f"PLACEHOLDER{index}X" for index, key in enumerate(keys)}
    url = reverse(name, kwargs=placeholders).replace("{", "{{").replace("}", "}}")
    for key, placeholder in placeholders.items():
        url = url.replace(placeholder, "{" + key + "}")
    return url
