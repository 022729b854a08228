"""The disk full on upload: the app's upload folder is a small file system of its own
(tmpfs, else a loop-mounted ext4 image; both need root, so CI has them), filled up.

A member adding a product photo gets the form back with a clear message, not a 500;
no file is left behind (not half a file, not the derivatives that still fitted) and no
image row; once space is freed the same upload works, without restarting anything.
"""
import io
import os
import random
import subprocess

import pytest
from PIL import Image
from sqlalchemy import func, select

from marketplace.auth.services import issue_api_token
from marketplace.catalog.models import Product, ProductImage
from marketplace.coops.models import Cooperative
from marketplace.core.images import process_upload
from marketplace.core.storage import make_storage
from marketplace.extensions import db
from tests.conftest import owner_of
from tests.faults.helpers import money_taken, money_world
from tests.catalog.test_products import FORM

SIZE_MB = 8
PAGE = 4096
MESSAGE = "There is no room left to store photos right now. Nothing was saved."


def _mount(folder) -> str | None:
    """Mount a SIZE_MB file system on `folder`; returns how, or None when this host can't."""
    if os.geteuid() != 0:
        return None
    tmpfs = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(folder)],
                           capture_output=True)
    if tmpfs.returncode == 0:
        return "tmpfs"
    image = f"{folder}.img"  # no tmpfs (some containers): an ext4 image on a loop device
    with open(image, "wb") as fh:
        fh.truncate(SIZE_MB * 1024 * 1024)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", image], capture_output=True)
    if made.returncode == 0 and subprocess.run(["mount", "-o", "loop", image, str(folder)],
                                               capture_output=True).returncode == 0:
        return "loop"
    os.remove(image)
    return None


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "small-disk"
    folder.mkdir()
    how = _mount(folder)
    if how is None:
        pytest.skip("needs root and tmpfs or a loop device to mount a small file system to fill up "
                    "(a full disk cannot be faked honestly without one)")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)
    if how == "loop":
        os.remove(f"{folder}.img")


def fill(folder, leave=0):
    """Fill the file system up, leaving about `leave` bytes free (whole pages)."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(folder / "filler", "wb") as fh:
        fh.truncate(0)
        try:
            chunk = b"\0" * (1024 * 1024)
            left = free - leave
            while left > 0:
                fh.write(chunk[:left])
                fh.flush()
                left -= min(left, len(chunk))
        except OSError:
            pass  # full before `left` ran out: file system overhead
        fh.flush()


def noisy_jpeg(seed=7) -> bytes:
    """A photo whose derivatives are large (noise does not compress), yet under the
    500 kB above which the test client spools a request body to a temporary file."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (720, 540), rng.randbytes(720 * 540 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=75)
    return out.getvalue()


def stored_files(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name not in ("filler", "lost+found"))


@pytest.fixture
def uploads_on(app, monkeypatch):
    """Point the app's upload storage at `folder`, as UPLOAD_FOLDER does at start."""
    def point(folder):
        monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
        monkeypatch.setitem(app.extensions, "storage", make_storage(app.config))
    return point


def upload_form(client, product_id, photo):
    return client.post(f"/my/products/{product_id}", data={**FORM, "photo": (io.BytesIO(photo), "harvest.jpg")},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("room", ["none", "for the smaller sizes"])
def test_a_photo_upload_on_a_full_disk_shows_the_form_again_and_works_once_space_is_freed(
        app, client, make, login, small_disk, uploads_on, room):
    uploads_on(small_disk)
    world = money_world(make)
    product = db.session.get(Product, world.product_id)
    login(owner_of(db.session.get(Cooperative, product.cooperative_id)))
    photo = noisy_jpeg()
    sizes = [len(data) for data in process_upload(photo).derivatives.values()]  # thumb, medium, large
    assert len(photo) < 500_000 and sizes[2] > 16 * PAGE
    # "for the smaller sizes": thumb and medium fit, the large one does not (half a file is written)
    fill(small_disk, leave=0 if room == "none" else sizes[0] + sizes[1] + 4 * PAGE)
    money_before = money_taken()

    refused = upload_form(client, product.id, photo)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422  # the form again, not a 500
    assert MESSAGE in page and 'name="title"' in page and FORM["title"] in page
    assert stored_files(small_disk) == []  # no derivative kept, no half-written .part
    assert db.session.scalar(select(func.count()).select_from(ProductImage)) == 0
    db.session.refresh(product)
    assert product.cover_key is None and product.title != FORM["title"]  # the whole save rolled back

    api = client.post(f"/api/v1/products/{product.id}/images", data={"file": (io.BytesIO(photo), "h.jpg")},
                      content_type="multipart/form-data", headers={"Authorization": f"Bearer {_token(product)}"})
    assert api.status_code == 507 and api.get_json()["error"]["code"] == "storage_full"
    assert stored_files(small_disk) == []

    os.remove(small_disk / "filler")  # space is freed; the app was never restarted
    saved = upload_form(client, product.id, photo)
    assert saved.status_code == 302
    db.session.refresh(product)
    assert product.cover_key and stored_files(small_disk) == sorted(
        f"{product.cover_key}-{size}.webp" for size in ("large", "medium", "thumb"))
    with client.get(f"/media/{product.cover_key}-thumb.webp") as image:
        assert image.status_code == 200 and image.data[8:12] == b"WEBP"
    assert money_taken() == money_before


def _token(product):
    raw, _ = issue_api_token(owner_of(db.session.get(Cooperative, product.cooperative_id)))
    db.session.commit()
    return raw
