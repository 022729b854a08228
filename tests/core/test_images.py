"""Uploads: only real JPEG/PNG/WebP, upright, with every piece of metadata removed."""
import io

import pytest
from PIL import Image

from marketplace.core.errors import DomainError
from marketplace.core.images import SIZES, process_upload
from tests.conftest import jpeg_bytes


def exif_with_gps_and_rotation():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (34.0, 7.0, 12.0)
    gps[3], gps[4] = "E", (108.0, 56.0, 3.0)
    return exif


def opened(data):
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_derivatives_are_webp_upright_and_without_metadata(app):
    data = jpeg_bytes(size=(400, 200), exif=exif_with_gps_and_rotation())
    assert b"PhoneMaker" in data  # the test file really carries EXIF
    result = process_upload(data)
    assert (result.width, result.height) == (200, 400)  # orientation applied
    for name, side in SIZES.items():
        image = opened(result.derivatives[name])
        assert image.format == "WEBP"
        assert max(image.size) <= side
        assert image.height > image.width
        assert not image.getexif() and "exif" not in image.info and "xmp" not in image.info
        assert b"PhoneMaker" not in result.derivatives[name]


def test_png_with_transparency_and_webp_are_accepted(app):
    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (255, 0, 0, 0)).save(out, "PNG")
    assert opened(process_upload(out.getvalue()).derivatives["thumb"]).getpixel((5, 5))[:3] == (255, 255, 255)
    assert process_upload(jpeg_bytes(fmt="WEBP")).width == 64


def refused(data):
    with pytest.raises(DomainError) as info:
        process_upload(data)
    return info.value


@pytest.mark.parametrize("maker", [
    lambda: b"",
    lambda: b"hello, not an image",
    lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    lambda: jpeg_bytes(fmt="GIF"),
    lambda: jpeg_bytes(fmt="BMP"),
    lambda: jpeg_bytes(size=(300, 300))[:200],  # truncated
    lambda: b"%PDF-1.4\n" + jpeg_bytes(),  # polyglot: a PDF header in front of a JPEG
], ids=["empty", "text", "svg", "gif", "bmp", "truncated", "polyglot"])
def test_non_images_are_refused(app, maker):
    assert refused(maker()).code == "invalid_image"


def test_decompression_bomb_is_refused(app):
    app.config["MAX_IMAGE_PIXELS"] = 1_000_000
    out = io.BytesIO()
    Image.new("L", (4000, 4000)).save(out, "PNG")  # tiny file, 16 megapixels
    assert len(out.getvalue()) < 100_000
    assert refused(out.getvalue()).code in ("image_too_many_pixels", "invalid_image")


def test_files_over_the_size_limit_are_refused_with_413(app):
    app.config["MAX_IMAGE_BYTES"] = 1000
    assert refused(jpeg_bytes(size=(300, 300))).status == 413


def test_stored_names_are_generated_not_the_users(app):
    first, second = process_upload(jpeg_bytes()), process_upload(jpeg_bytes())
    assert first.key != second.key and len(first.key) == 32 and first.key.isalnum()


def test_media_route_serves_only_generated_names(client):
    for name in ("../../etc/passwd", "x.webp", "..%2Fsecret"):
        assert client.get(f"/media/{name}").status_code == 404
