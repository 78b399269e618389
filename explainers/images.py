"""Image files the site makes itself with Pillow."""

import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image, ImageDraw, ImageOps

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


# Renditions: the sizes pages ask for. Made once, on the first request for each, and kept
# under media/renditions/; a replaced image has a new name, so its renditions are new too.
RENDITION_WIDTHS = (400, 800, 1200)


@dataclass(frozen=True)
class RenditionFormat:
    pillow_format: str
    mime_type: str


RENDITION_FORMATS = {
    "webp": RenditionFormat("WEBP", "image/webp"),
    "jpg": RenditionFormat("JPEG", "image/jpeg"),
}
RENDITION_FOLDER = "renditions"


@dataclass(frozen=True)
class Rendition:
    original: str
    width: int
    height: int
    extension: str

    @property
    def name(self) -> str:
        return rendition_name(self.original, self.width, self.extension)

    @property
    def url(self) -> str:
        return reverse(
            "explainers:rendition",
            kwargs={"original": self.original, "width": self.width, "extension": self.extension},
        )


def rendition_widths(original_width: int) -> list[int]:
    """The rendition widths for an original: never wider than the original itself."""
    widths = [width for width in RENDITION_WIDTHS if width < original_width]
    return widths + [min(original_width, RENDITION_WIDTHS[-1])]


def renditions_for(original: str, width: int, height: int, extension: str) -> list[Rendition]:
    return [
        Rendition(original, w, max(1, round(height * w / width)), extension)
        for w in rendition_widths(width)
    ]


def rendition_name(original: str, width: int, extension: str) -> str:
    stem = original.rsplit(".", 1)[0]
    return f"{RENDITION_FOLDER}/{stem}-{width}w.{extension}"


def rendition_file(original: str, width: int, extension: str) -> str:
    """The stored name of a rendition, drawing it first if it does not exist yet."""
    if extension not in RENDITION_FORMATS or width not in RENDITION_WIDTHS:
        raise ValueError(f"no such rendition: {width}w {extension}")
    name = rendition_name(original, width, extension)
    if default_storage.exists(name):
        return name
    image = ImageOps.exif_transpose(_open_original(original))
    width = min(width, image.width)
    size = (width, max(1, round(image.height * width / image.width)))
    resized = image.convert("RGBA" if _has_alpha(image) else "RGB").resize(
        size, Image.Resampling.LANCZOS
    )
    if extension == "jpg" and resized.mode == "RGBA":
        background = Image.new("RGB", resized.size, (255, 255, 255))
        background.paste(resized, mask=resized.getchannel("A"))
        resized = background
    buffer = io.BytesIO()
    # Saved without the original's metadata: no EXIF (camera, location) reaches readers.
    resized.save(buffer, format=RENDITION_FORMATS[extension].pillow_format, quality=82)
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(buffer.getvalue()))
    return name


def draw_missing_placeholder(name: str) -> bool:
    """Draw the placeholder stored under ``name`` if its file is missing; say whether it had to."""
    if default_storage.exists(name):
        return False
    default_storage.save(name, ContentFile(placeholder_png(name)))
    return True


def _open_original(original: str) -> Image.Image:
    if original.startswith(f"{PLACEHOLDER_FOLDER}/"):
        # A placeholder is drawn from its name, so a lost one can always be drawn again.
        draw_missing_placeholder(original)
    with default_storage.open(original, "rb") as file:
        image = Image.open(io.BytesIO(file.read()))
        image.load()
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
