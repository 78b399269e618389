"""Image files the site makes itself with Pillow."""

import hashlib
import io
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageCms, ImageDraw, ImageOps, ImageSequence, UnidentifiedImageError

from .reversing import fast_reverse

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


def placeholder_png(name: str) -> bytes:
    """The PNG stored under a placeholder name; ValueError for any other name."""
    match = PLACEHOLDER_FILE.match(name)
    if match is None or int(match[1]) >= PLACEHOLDER_VARIANTS:
        raise ValueError(f"not a placeholder name: {name}")
    palette, layout = divmod(int(match[1]), LAYOUTS)
    return _placeholder_variant(palette, layout)


@lru_cache(maxsize=PLACEHOLDER_VARIANTS)
def _placeholder_variant(palette: int, layout: int) -> bytes:
    background, accent = PALETTES[palette]
    width, height = PLACEHOLDER_SIZE
    # Drawn straight onto a three-colour palette: small files, quick to encode.
    image = Image.new("P", PLACEHOLDER_SIZE, 0)
    image.putpalette([*background, *_mix(background, accent, 0.18), *accent])
    draw = ImageDraw.Draw(image)
    step = 60 + 20 * layout
    for offset in range(-height, width, step):
        draw.line([(offset, height), (offset + height, 0)], fill=1, width=3)
    radius = height // (3 + layout % 2)
    centre = (width * (2 + layout) // 7, height // 2)
    draw.ellipse(
        [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius],
        outline=2,
        width=8,
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
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


SOCIAL_SIZE = "1200x630"  # Open Graph and Twitter cards: cropped to their shape

# The closed set of renditions: (size, extension) exactly as URLs spell them. Nothing else is
# ever drawn, so storage holds at most len(DECLARED_RENDITIONS) files per original.
DECLARED_RENDITIONS = frozenset(
    [(str(width), extension) for width in RENDITION_WIDTHS for extension in RENDITION_FORMATS]
    + [(SOCIAL_SIZE, "jpg")]
)


def is_declared_rendition(size: str, extension: str) -> bool:
    """Whether ``size``.``extension`` is one of the site's renditions, spelled exactly
    ("800", never "0800" or "٨٠٠")."""
    return (size, extension) in DECLARED_RENDITIONS


@dataclass(frozen=True)
class Rendition:
    original: str
    size: str  # the size asked for: a width ("800") or a crop ("1200x630")
    width: int  # what comes out: never wider than the original
    height: int
    extension: str

    @property
    def name(self) -> str:
        return rendition_name(self.original, self.size, self.extension)

    @property
    def box(self) -> tuple[int, int]:
        return (self.width, self.height)

    @cached_property
    def url(self) -> str:
        return fast_reverse(
            "explainers:rendition", size=self.size, extension=self.extension, original=self.original
        )


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


class HasRenditions:
    """The renditions of an original image, for anything with ``original`` (the file's name),
    ``width`` and ``height``: hero images, and the heroes of cards."""

    def renditions(self, extension: str) -> tuple[Rendition]:
        """The sizes pages offer of this image, as WebP ("webp") or JPEG ("jpg")."""
        return renditions_for(self.original, self.width, self.height, extension)

    def rendition(self, width: int, extension: str = "jpg") -> Rendition:
        """The largest rendition no wider than ``width``."""
        fitting = [r for r in self.renditions(extension) if r.width <= width]
        return fitting[-1] if fitting else self.renditions(extension)[0]


def social_rendition(original: str) -> Rendition:
    width, height = map(int, SOCIAL_SIZE.split("x"))
    return Rendition(original, SOCIAL_SIZE, width, height, "jpg")


def rendition_name(original: str, size: str, extension: str) -> str:
    stem = original.rsplit(".", 1)[0]
    return f"{RENDITION_FOLDER}/{stem}-{size}.{extension}"


def rendition_file(original: str, size: str, extension: str) -> str:
    """The stored name of a rendition, drawing it first if it does not exist yet."""
    if not is_declared_rendition(size, extension):
        raise ValueError(f"no such rendition: {size} {extension}")
    name = rendition_name(original, size, extension)
    if default_storage.exists(name):
        return name
    image = in_srgb(ImageOps.exif_transpose(_open_original(original)))
    image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    if size == SOCIAL_SIZE:
        resized = ImageOps.fit(image, social_rendition(original).box, Image.Resampling.LANCZOS)
    else:
        width = min(int(size), image.width)
        box = (width, max(1, round(image.height * width / image.width)))
        resized = image.resize(box, Image.Resampling.LANCZOS)
    if extension == "jpg" and resized.mode == "RGBA":
        background = Image.new("RGB", resized.size, (255, 255, 255))
        background.paste(resized, mask=resized.getchannel("A"))
        resized = background
    buffer = io.BytesIO()
    # Saved without the original's metadata: no EXIF, XMP or comment reaches readers.
    _save_without_metadata(resized, buffer, RENDITION_FORMATS[extension].pillow_format, quality=82)
    store_whole(name, buffer.getvalue())
    return name


def draw_missing_placeholder(name: str) -> bool:
    """Draw the placeholder stored under ``name`` if its file is missing; say whether it had to."""
    if not PLACEHOLDER_FILE.match(name) or default_storage.exists(name):
        return False
    store_whole(name, placeholder_png(name))
    return True


def store_whole(name: str, data: bytes) -> None:
    """Store a file the site drew so that no request ever reads it half written.

    Two requests may draw the same rendition at once: on local disk each writes a temporary
    file and renames it into place, so the last one wins whole. Remote storages (S3) make an
    upload visible only once it is complete.
    """
    try:
        path = Path(default_storage.path(name))
    except NotImplementedError:
        if not default_storage.exists(name):
            default_storage.save(name, ContentFile(data))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=".", suffix=".part", delete=False
    ) as file:
        file.write(data)
    os.chmod(file.name, 0o644)
    os.replace(file.name, path)


def _open_original(original: str) -> Image.Image:
    # A placeholder is drawn from its name, so a lost one can always be drawn again.
    draw_missing_placeholder(original)
    with default_storage.open(original, "rb") as file:
        image = Image.open(io.BytesIO(file.read()))
        image.load()
    return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)


# Uploads: what editors may send, and what is kept of it.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000
ACCEPTED_UPLOAD_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
UPLOAD_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# What a GIF frame keeps: how it animates, nothing about where it came from.
GIF_FRAME_INFO = {"duration", "loop", "transparency", "background", "disposal"}


class UploadRejected(ValueError):
    """An upload the site will not store; the message says why, for the editor."""


def prepared_upload(upload) -> ContentFile:
    """Check an uploaded image and return the copy to store.

    Refuses files over 10 MB, anything but JPEG/PNG/WebP/GIF (SVG included), damaged or
    truncated files and images over 40 megapixels (decompression bombs). The copy is turned
    upright, carries no metadata at all (GPS in EXIF or XMP, comments, camera details), and
    is named at random with the extension of the format it really is.
    """
    if upload.size > MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB."
        )
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise UploadRejected(_too_many_pixels()) from None
    except (UnidentifiedImageError, OSError):
        raise UploadRejected(
            "This is not an image the site accepts: upload a JPEG, PNG, WebP or GIF file."
        ) from None
    if image.format not in ACCEPTED_UPLOAD_FORMATS:
        raise UploadRejected(
            f"{image.format} images are not accepted: upload a JPEG, PNG, WebP or GIF file."
        )
    if image.width * image.height > MAX_UPLOAD_PIXELS:
        raise UploadRejected(_too_many_pixels(image))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError):
        raise UploadRejected("The image is damaged or truncated: export it again.") from None
    buffer = io.BytesIO()
    _save_without_metadata(image, buffer, image.format)
    # A random name: upload addresses cannot be guessed, and the extension is the format's.
    return ContentFile(
        buffer.getvalue(), name=f"{uuid.uuid4().hex}.{UPLOAD_EXTENSIONS[image.format]}"
    )


def _save_without_metadata(image: Image.Image, buffer, pillow_format: str, **options) -> None:
    """Save the pixels only: no EXIF (turned upright first), XMP, comments or ICC profile
    (colours are converted to sRGB first, so dropping it changes nothing readers see)."""
    if pillow_format == "GIF":
        frames = []
        for frame in ImageSequence.Iterator(image):
            copy = frame.copy()
            copy.info = {k: v for k, v in frame.info.items() if k in GIF_FRAME_INFO}
            frames.append(copy)
        first = frames[0]
        first.save(
            buffer, format="GIF", save_all=len(frames) > 1, append_images=frames[1:], **first.info
        )
        return
    clean = in_srgb(ImageOps.exif_transpose(image))
    clean.info = {}
    if pillow_format in {"JPEG", "WEBP"}:
        options.setdefault("quality", 92)
    clean.save(buffer, format=pillow_format, **options)


def in_srgb(image: Image.Image) -> Image.Image:
    """``image`` with its colours converted from its ICC profile, if any, to sRGB."""
    profile = image.info.get("icc_profile")
    if not profile:
        return image
    try:
        return ImageCms.profileToProfile(
            image,
            ImageCms.ImageCmsProfile(io.BytesIO(profile)),
            ImageCms.createProfile("sRGB"),
            outputMode="RGBA" if _has_alpha(image) else "RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A profile Pillow cannot read: keep the pixels as they are.
        return image.convert("RGBA" if _has_alpha(image) else "RGB")


def _too_many_pixels(image=None) -> str:
    size = f" ({image.width} × {image.height})" if image else ""
    return (
        f"The image is too large{size}: at most {MAX_UPLOAD_PIXELS // 1_000_000} megapixels. "
        "Resize it before uploading."
    )
