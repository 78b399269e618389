"""Image files the site draws and checks with Pillow: placeholders, renditions and uploads.

Only the processes that write (the admin, imports, the renditions task) import this module and
Pillow with it; pages find the files by name (explainers/images.py).
"""

import io
import logging
import os
import tempfile
import time
import uuid
from functools import lru_cache
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageCms, ImageDraw, ImageOps, ImageSequence, UnidentifiedImageError

from .images import (
    LAYOUTS,
    PALETTES,
    PLACEHOLDER_FILE,
    PLACEHOLDER_SIZE,
    PLACEHOLDER_VARIANTS,
    RENDITION_FORMATS,
    FocalPoint,
    all_renditions,
    crop_box,
    renditions_key,
)

logger = logging.getLogger(__name__)


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


def draw_renditions(
    original: str, width: int, height: int, focal: FocalPoint | None, *, redraw: bool = False
) -> list[str]:
    """Draw every rendition of ``original`` for its focal point into storage; return the names
    drawn. Those already stored are kept unless ``redraw``. Background work: the task and the
    make_renditions command call it, never a request."""
    key = renditions_key(original, focal)
    expected = all_renditions(original, key, width, height)
    if not redraw and all(default_storage.exists(r.name) for r in expected):
        return []
    started = time.monotonic()
    # Opened once for all of them, each size resized once for both formats, and each file
    # encoded once: a 16:9 original's card crops are its widths, pixel for pixel.
    image = in_srgb(ImageOps.exif_transpose(_open_original(original)))
    image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    # Sized from the pixels as they stand upright: a file stored with an EXIF rotation (not
    # an upload, which is turned at once) is taller than its width and height fields say.
    wanted = all_renditions(original, key, image.width, image.height)
    if not redraw:
        wanted = [r for r in wanted if not default_storage.exists(r.name)]
    resized, encoded = {}, {}
    for rendition in wanted:
        box = (0, 0, image.width, image.height)
        if rendition.aspect is not None:
            box = crop_box(image.width, image.height, rendition.aspect, focal)
        if (box, rendition.box) not in resized:
            resized[box, rendition.box] = _resized(image, box, rendition.box)
        if (box, rendition.box, rendition.extension) not in encoded:
            encoded[box, rendition.box, rendition.extension] = _encoded(
                resized[box, rendition.box], rendition.extension
            )
        store_whole(rendition.name, encoded[box, rendition.box, rendition.extension])
    logger.info(
        "Drew %d renditions of %s (key %s) in %.2f s",
        len(wanted),
        original,
        key,
        time.monotonic() - started,
    )
    return [r.name for r in wanted]


def _resized(image: Image.Image, box: tuple[int, int, int, int], size: tuple[int, int]):
    # reducing_gap: shrink by whole factors first, then Lanczos; much faster on large
    # originals, and the same to the eye.
    return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


def _encoded(image: Image.Image, extension: str) -> bytes:
    if extension == "jpg" and image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    buffer = io.BytesIO()
    # Saved without the original's metadata: no EXIF, XMP or comment reaches readers.
    _save_without_metadata(image, buffer, RENDITION_FORMATS[extension].pillow_format, quality=82)
    return buffer.getvalue()


def draw_missing_placeholder(name: str) -> bool:
    """Draw the placeholder stored under ``name`` if its file is missing; say whether it had to."""
    if not PLACEHOLDER_FILE.match(name) or default_storage.exists(name):
        return False
    store_whole(name, placeholder_png(name))
    return True


def store_whole(name: str, data: bytes) -> None:
    """Store a file the site drew so that no request ever reads it half written.

    Two workers (or a worker and make_renditions) may draw the same rendition at once: on
    local disk each writes a temporary file and renames it into place, so the last one wins
    whole. Remote storages (S3) make an
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
