import json

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def json_ld(data):
    """A JSON-LD <script> block; the JSON is escaped so that no text can break out of it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Inside <script>, "</script>" or "<!--" in an editor's title would end the block early.
    # (str.replace: str.translate with a mapping was the slowest step of a category page's
    # JSON-LD.)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return mark_safe(f'<script type="application/ld+json">{text}</script>')
