"""Image files the site makes itself with Pillow."""

import hashlib
import io
from functools import lru_cache

from PIL import Image, ImageDraw

PLACEHOLDER_SIZE = (1200, 675)
PLACEHOLDER_FOLDER = "heroes/placeholders"

# Calm background/accent pairs; a placeholder's seed picks one and a layout.
PALETTES = [
    ((30, 41, 59), (56, 189, 248)),
    ((49, 46, 129), (165, 180, 252)),
    ((20, 83, 45), (134, 239, 172)),
    ((124, 45, 18), (253, 186, 116)),
    ((88, 28, 135), (216, 180, 254)),
    ((15, 118, 110), (153, 246, 228)),
    ((30, 58, 138), (147, 197, 253)),
    ((63, 63, 70), (250, 204, 21)),
]
LAYOUTS = 4


def placeholder_name(slug: str) -> str:
    return f"{PLACEHOLDER_FOLDER}/{slug}.png"


def placeholder_png(seed: str) -> bytes:
    """A deterministic PNG for a hero the scrape has no image for: same seed, same bytes."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return _placeholder_variant(digest[0] % len(PALETTES), digest[1] % LAYOUTS)


@lru_cache(maxsize=len(PALETTES) * LAYOUTS)
def _placeholder_variant(palette: int, layout: int) -> bytes:
    # Few variants, each drawn once per process: importing 10,000 cards writes bytes,
    # it does not draw 10,000 images.
    background, accent = PALETTES[palette]
    width, height = PLACEHOLDER_SIZE
    image = Image.new("RGB", PLACEHOLDER_SIZE, background)
    draw = ImageDraw.Draw(image)
    step = 60 + 20 * layout
    for offset in range(-height, width, step):
        draw.line(
            [(offset, height), (offset + height, 0)], fill=_mix(background, accent, 0.18), width=3
        )
    radius = height // (3 + layout % 2)
    centre = (width * (2 + layout) // 7, height // 2)
    draw.ellipse(
        [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius],
        outline=accent,
        width=8,
    )
    buffer = io.BytesIO()
    image.quantize(colors=16).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _mix(a, b, share):
    return tuple(round(x + (y - x) * share) for x, y in zip(a, b, strict=True))
