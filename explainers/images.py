"""Images as pages address them: placeholders' names, renditions' sizes, crops and names.

Drawing and checking the files with Pillow is explainers/drawing.py's, which the processes
that only serve readers never import.
"""

import hashlib
import math
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from django.core.files.storage import default_storage
from django.urls import reverse

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


PLACEHOLDER_VARIANTS = len(PALETTES) * LAYOUTS
PLACEHOLDER_FILE = re.compile(rf"^{PLACEHOLDER_FOLDER}/variant-(\d\d)\.png$")


def placeholder_name(seed: str) -> str:
    """The stored name of the placeholder for ``seed`` (a slug): same seed, same file.

    Placeholders share a few files, so that importing 10,000 cards writes a few dozen images,
    not 10,000, and their renditions are drawn once for all.
    """
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    variant = int.from_bytes(digest[:4]) % PLACEHOLDER_VARIANTS
    return f"{PLACEHOLDER_FOLDER}/variant-{variant:02d}.png"


# Renditions: the sizes and crops pages show. A background task draws them when an image is
# saved (services/renditions.py), never a reader's request; until it has, pages show the
# original, scaled and cropped by the browser (HasRenditions.renditions_ready).
RENDITION_WIDTHS = (400, 800, 1200)  # the whole image, scaled: article pages, bodies, feeds
# Cards show a 16:9 crop (static/css/site.css, .card-image). It is drawn here around the focal
# point, not left to the browser's centred object-fit, which cuts off a subject near an edge.
CARD_ASPECT = (16, 9)
CARD_SIZES = tuple(f"{width}x{width * 9 // 16}" for width in RENDITION_WIDTHS)
SOCIAL_SIZE = "1200x630"  # Open Graph and Twitter cards: cropped to their shape
ORIGINAL_SIZE = "original"  # /images/<original>/original.<its extension>: the file itself
# Part of every renditions key: bump it to have every crop drawn again, under new names.
RENDITIONS_VERSION = 1
KEY_LENGTH = 12
RENDITIONS_KEY = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}")


@dataclass(frozen=True)
class RenditionFormat:
    pillow_format: str
    mime_type: str


RENDITION_FORMATS = {
    "webp": RenditionFormat("WEBP", "image/webp"),
    "jpg": RenditionFormat("JPEG", "image/jpeg"),
}
# What an original may be served as, by the extension its stored name has.
ORIGINAL_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
}
RENDITION_FOLDER = "renditions"

# The closed set of renditions: (size, extension) exactly as URLs spell them. Nothing else is
# ever drawn, so storage holds at most len(DECLARED_RENDITIONS) files per original and key.
DECLARED_RENDITIONS = frozenset(
    [(str(width), extension) for width in RENDITION_WIDTHS for extension in RENDITION_FORMATS]
    + [(size, extension) for size in CARD_SIZES for extension in RENDITION_FORMATS]
    + [(SOCIAL_SIZE, "jpg")]
)


@dataclass(frozen=True)
class Crop:
    """A shape the site crops hero images to; the admin previews each one beside the image."""

    label: str
    shape: str
    aspect: tuple[int, int]
    shown_on: str


CROPS = (
    Crop("Card", "16:9", CARD_ASPECT, "home, category, series and search pages"),
    Crop("Link preview", "1200 × 630", (1200, 630), "links shared on social media and in chats"),
)


def is_declared_rendition(size: str, extension: str) -> bool:
    """Whether ``size``.``extension`` is one of the site's renditions, spelled exactly
    ("800", never "0800" or "٨٠٠"; a crop's key is not part of ``size``)."""
    return (size, extension) in DECLARED_RENDITIONS


@dataclass(frozen=True)
class FocalPoint:
    """The subject of an image, in fractions of its width and height (0 = the left or top
    edge): its centre, and the size of a box around it if the editor drew one (else 0)."""

    x: float
    y: float
    width: float = 0.0
    height: float = 0.0

    @classmethod
    def of(cls, x, y, width=None, height=None) -> "FocalPoint | None":
        """The focal point these fields store; None (the image's centre) without x and y."""
        if x is None or y is None:
            return None
        return cls(x, y, width or 0.0, height or 0.0)

    def spelled(self) -> str:
        return f"{self.x:.4f},{self.y:.4f},{self.width:.4f},{self.height:.4f}"


def half_up(value: float) -> int:
    """``value`` rounded the way JavaScript's Math.round rounds, so that the admin's previews
    (static/explainers/admin/focal-point.js) show exactly the pixels drawn here."""
    return math.floor(value + 0.5)


def crop_size(width: int, height: int, aspect: tuple[int, int]) -> tuple[int, int]:
    """The largest box of ``aspect`` (width, height) that a ``width`` × ``height`` image holds."""
    aspect_width, aspect_height = aspect
    if width * aspect_height > height * aspect_width:  # wider than the crop: all its height
        return max(1, min(width, half_up(height * aspect_width / aspect_height))), height
    return width, max(1, min(height, half_up(width * aspect_height / aspect_width)))


def crop_box(
    width: int, height: int, aspect: tuple[int, int], focal: FocalPoint | None = None
) -> tuple[int, int, int, int]:
    """Where a ``width`` × ``height`` image is cropped to ``aspect``: (left, top, right, bottom).

    The one crop rule of the site (the admin's previews repeat it in JavaScript): the largest
    box of that shape, centred on the focal point (the image's centre without one), moved back
    inside where it would cross an edge. The focal point is always in the frame, and so is its
    box, unless the box is wider or taller than the frame itself: then its centre is.
    """
    crop_width, crop_height = crop_size(width, height, aspect)
    x, y = (0.5, 0.5) if focal is None else (focal.x, focal.y)
    left = min(max(half_up(x * width - crop_width / 2), 0), width - crop_width)
    top = min(max(half_up(y * height - crop_height / 2), 0), height - crop_height)
    return left, top, left + crop_width, top + crop_height


def object_position(
    width: int, height: int, aspect: tuple[int, int], focal: FocalPoint | None
) -> str:
    """The CSS object-position with which ``object-fit: cover`` in a box of ``aspect`` shows
    the pixels of ``crop_box``: how pages crop an original whose renditions are not made yet."""
    left, top, right, bottom = crop_box(width, height, aspect, focal)

    def share(offset, spare):
        return 50.0 if spare <= 0 else offset / spare * 100

    return f"{share(left, width - (right - left)):.1f}% {share(top, height - (bottom - top)):.1f}%"


def crop_previews(width: int | None, height: int | None, focal: FocalPoint | None) -> list[dict]:
    """Each crop the site makes, as the admin previews it: a frame of the crop's shape, and
    where the image sits in it (CSS percentages) so that it shows ``crop_box``'s pixels.
    Without an image yet (``width`` None), the frames only."""
    previews = []
    for crop in CROPS:
        if not width or not height:
            previews.append({"crop": crop})
            continue
        left, top, right, bottom = crop_box(width, height, crop.aspect, focal)
        shown_width, shown_height = right - left, bottom - top
        previews.append(
            {
                "crop": crop,
                "width": f"{width / shown_width * 100:.3f}%",
                "left": f"{-left / shown_width * 100:.3f}%",
                "top": f"{-top / shown_height * 100:.3f}%",
            }
        )
    return previews


def focal_marker(focal: FocalPoint | None) -> dict | None:
    """Where the admin marks the focal point (and its box) on the image, in CSS percentages."""
    if focal is None:
        return None
    return {
        "left": f"{focal.x * 100:.2f}%",
        "top": f"{focal.y * 100:.2f}%",
        "box": focal.width > 0 and focal.height > 0,
        "box_left": f"{(focal.x - focal.width / 2) * 100:.2f}%",
        "box_top": f"{(focal.y - focal.height / 2) * 100:.2f}%",
        "box_width": f"{focal.width * 100:.2f}%",
        "box_height": f"{focal.height * 100:.2f}%",
    }


@lru_cache(maxsize=4096)
def renditions_key(original: str, focal: FocalPoint | None) -> str:
    """What a set of renditions is drawn for: the file, the focal point, RENDITIONS_VERSION.

    Crops are stored and served under names that include it, so a new focal point gives new
    URLs and no cache can go on serving the old crop. Whole-image widths do not depend on the
    focal point: their names (and the URLs bodies embed) stay.
    """
    spelled = focal.spelled() if focal else "centre"
    text = f"{RENDITIONS_VERSION}\n{original}\n{spelled}"
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


@dataclass(frozen=True)
class Rendition:
    original: str
    size: str  # as declared: a width ("800") or a crop ("1200x630")
    width: int  # what comes out: a width is never wider than the original
    height: int
    extension: str
    key: str = ""  # crops only: the renditions key their pixels depend on

    @property
    def name(self) -> str:
        return rendition_name(self.original, self.size, self.extension, self.key)

    @property
    def box(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def aspect(self) -> tuple[int, int] | None:
        """The shape a crop is cut to; None for a whole-image width."""
        if "x" not in self.size:
            return None
        width, height = self.size.split("x")
        return (int(width), int(height))

    @property
    def mime_type(self) -> str:
        return RENDITION_FORMATS[self.extension].mime_type

    @cached_property
    def url(self) -> str:
        size = f"{self.size}-{self.key}" if self.key else self.size
        return reverse(
            "explainers:rendition",
            kwargs={"size": size, "extension": self.extension, "original": self.original},
        )


@dataclass(frozen=True)
class OriginalImage:
    """The uploaded file itself (stored without metadata), at its own size: what pages show,
    scaled by the browser, until the renditions are made."""

    original: str
    width: int
    height: int

    @property
    def name(self) -> str:
        return self.original

    @property
    def extension(self) -> str:
        return self.original.rsplit(".", 1)[-1]

    @property
    def mime_type(self) -> str:
        return ORIGINAL_TYPES.get(self.extension, "application/octet-stream")

    @cached_property
    def url(self) -> str:
        return reverse(
            "explainers:rendition",
            kwargs={"size": ORIGINAL_SIZE, "extension": self.extension, "original": self.original},
        )


# Pure, and asked for once a card until the renditions are made.
@lru_cache(maxsize=4096)
def original_image_for(original: str, width: int, height: int) -> OriginalImage:
    return OriginalImage(original, width, height)


# Pure, and asked for 60 times a page for the same few originals (placeholders share theirs).
@lru_cache(maxsize=4096)
def renditions_for(original: str, width: int, height: int, extension: str) -> tuple[Rendition]:
    """The widths offered of an original, up to the first one that reaches its own width."""
    renditions = []
    for size in RENDITION_WIDTHS:
        actual = min(size, width)
        renditions.append(
            Rendition(
                original, str(size), actual, max(1, round(height * actual / width)), extension
            )
        )
        if size >= width:
            break
    return tuple(renditions)


@lru_cache(maxsize=4096)
def card_renditions_for(
    original: str, key: str, width: int, height: int, extension: str
) -> tuple[Rendition]:
    """The card crops offered, up to the first one that reaches the crop's own width."""
    crop_width, crop_height = crop_size(width, height, CARD_ASPECT)
    renditions = []
    for size in CARD_SIZES:
        wanted = int(size.split("x")[0])
        actual = min(wanted, crop_width)
        actual_height = max(1, half_up(crop_height * actual / crop_width))
        renditions.append(Rendition(original, size, actual, actual_height, extension, key))
        if wanted >= crop_width:
            break
    return tuple(renditions)


def social_rendition(original: str, key: str) -> Rendition:
    """1200 × 630, cropped (enlarged if need be): the image link previews show."""
    width, height = map(int, SOCIAL_SIZE.split("x"))
    return Rendition(original, SOCIAL_SIZE, width, height, "jpg", key)


def all_renditions(original: str, key: str, width: int, height: int) -> tuple[Rendition]:
    """Every rendition pages may ask for of an image: what the background task draws."""
    return (
        *[
            r
            for extension in RENDITION_FORMATS
            for r in renditions_for(original, width, height, extension)
        ],
        *[
            r
            for extension in RENDITION_FORMATS
            for r in card_renditions_for(original, key, width, height, extension)
        ],
        social_rendition(original, key),
    )


class HasRenditions:
    """The renditions of an original image, for anything with ``original`` (the file's name),
    ``width``, ``height``, the focal point fields (``focal_x``, ``focal_y``, ``focal_width``,
    ``focal_height``) and ``renditions_key``: hero images, and the heroes of cards."""

    @property
    def focal_point(self) -> FocalPoint | None:
        return FocalPoint.of(self.focal_x, self.focal_y, self.focal_width, self.focal_height)

    @property
    def wanted_renditions_key(self) -> str:
        """The key of the renditions the image needs as it is now (file and focal point)."""
        return renditions_key(self.original, self.focal_point)

    @property
    def renditions_ready(self) -> bool:
        """Whether its renditions are in storage, drawn for its file and focal point as now."""
        return bool(self.renditions_key) and self.renditions_key == self.wanted_renditions_key

    def renditions(self, extension: str) -> tuple[Rendition]:
        """The widths pages offer of this image, as WebP ("webp") or JPEG ("jpg")."""
        return renditions_for(self.original, self.width, self.height, extension)

    def rendition(self, width: int, extension: str = "jpg") -> Rendition:
        """The largest rendition no wider than ``width``."""
        return _widest_within(self.renditions(extension), width)

    def card_renditions(self, extension: str) -> tuple[Rendition]:
        """The 16:9 crops cards offer, around the focal point."""
        return card_renditions_for(
            self.original, self.wanted_renditions_key, self.width, self.height, extension
        )

    def card_rendition(self, width: int, extension: str = "jpg") -> Rendition:
        """The largest card crop no wider than ``width``."""
        return _widest_within(self.card_renditions(extension), width)

    def social_rendition(self) -> Rendition:
        """1200 × 630, cropped around the focal point: the image link previews show."""
        return social_rendition(self.original, self.wanted_renditions_key)

    def all_renditions(self) -> tuple[Rendition]:
        return all_renditions(self.original, self.wanted_renditions_key, self.width, self.height)

    def original_image(self) -> OriginalImage:
        return original_image_for(self.original, self.width, self.height)

    def shown_image(self, width: int, extension: str = "jpg") -> "Rendition | OriginalImage":
        """The rendition no wider than ``width`` once made; until then the original."""
        return self.rendition(width, extension) if self.renditions_ready else self.original_image()

    def social_image(self) -> "Rendition | OriginalImage":
        """What link previews show: the 1200 × 630 crop once made; until then the original."""
        return self.social_rendition() if self.renditions_ready else self.original_image()

    def card_object_position(self) -> str:
        """How a card's CSS crops the original (before renditions exist) like the server."""
        return object_position(self.width, self.height, CARD_ASPECT, self.focal_point)


def _widest_within(renditions: tuple[Rendition], width: int) -> Rendition:
    """The widest of ``renditions`` (narrowest first) no wider than ``width``; else the first."""
    fitting = [r for r in renditions if r.width <= width]
    return fitting[-1] if fitting else renditions[0]


def rendition_name(original: str, size: str, extension: str, key: str = "") -> str:
    stem = original.rsplit(".", 1)[0]
    return f"{RENDITION_FOLDER}/{stem}-{size}{f'-{key}' if key else ''}.{extension}"


def stored_image_name(original: str, size: str, extension: str) -> str | None:
    """The stored file that an image URL's last part (``size``.``extension``) names: the
    original (``original.png``), a width (``800.webp``) or a crop and its key
    (``1200x630-<key>.jpg``). None for anything else: no other file is ever made or served."""
    if size == ORIGINAL_SIZE:
        extension_of_original = original.rsplit(".", 1)[-1]
        if extension == extension_of_original and extension in ORIGINAL_TYPES:
            return original
        return None
    size, _, key = size.partition("-")
    if not is_declared_rendition(size, extension):
        return None
    if ("x" in size) != bool(key) or (key and not RENDITIONS_KEY.fullmatch(key)):
        return None
    return rendition_name(original, size, extension, key)


def stale_crops(original: str, keep: set[str]) -> list[str]:
    """The stored crops of ``original`` drawn for other keys than those in ``keep``."""
    stem = original.rsplit(".", 1)[0]
    folder, _, base = f"{RENDITION_FOLDER}/{stem}".rpartition("/")
    try:
        _, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    crop = re.compile(rf"{re.escape(base)}-\d+x\d+-([0-9a-f]{{{KEY_LENGTH}}})\.(?:webp|jpg)")
    return [
        f"{folder}/{name}"
        for name in sorted(files)
        if (match := crop.fullmatch(name)) and match[1] not in keep
    ]
