"""The only module that imports Pillow: turn an uploaded file into clean WebP derivatives.

Only JPEG, PNG and WebP are opened. Decompression bombs, truncated files and
non-images are refused with a clear message. EXIF orientation is applied and
then every piece of metadata (EXIF, GPS, ICC, XMP, comments) is dropped, because
the derivatives are drawn from pixels only.
"""
import io
import uuid
import warnings
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DomainError, Invalid

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
#: longest side in pixels of each stored derivative
SIZES = {"thumb": 320, "medium": 720, "large": 1440}


class ImageTooLarge(DomainError):
    status = 413
    code = "file_too_large"


@dataclass
class ProcessedImage:
    key: str  #: generated storage key, never derived from the user's file name
    width: int  #: of the upright original
    height: int
    derivatives: dict  #: size name -> WebP bytes


def process_upload(data: bytes) -> ProcessedImage:
    if len(data) > current_app.config["MAX_IMAGE_BYTES"]:
        raise ImageTooLarge(_l("The image is larger than %(mb)d MB.",
                               mb=current_app.config["MAX_IMAGE_BYTES"] // (1024 * 1024)))
    image = _open_checked(data)
    upright = ImageOps.exif_transpose(image)
    pixels = _flatten(upright)
    derivatives = {name: _webp(pixels, side) for name, side in SIZES.items()}
    return ProcessedImage(uuid.uuid4().hex, pixels.width, pixels.height, derivatives)


def _open_checked(data: bytes) -> Image.Image:
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    refused = Invalid(_l("This file is not a JPEG, PNG or WebP image we can read."),
                      code="invalid_image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            if image.width * image.height > max_pixels:
                raise Invalid(_l("The image has too many pixels (at most %(mp)d megapixels).",
                                 mp=max_pixels // 1_000_000), code="image_too_many_pixels")
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refused from None
    except (OSError, SyntaxError, ValueError, EOFError):  # truncated or corrupt data
        raise refused from None
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels with transparency composited on white; no metadata carried over."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    clean = image.convert("RGB")
    clean.info = {}
    return clean


def _webp(image: Image.Image, side: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, "WEBP", quality=82, method=4)
    return out.getvalue()
