"""Images in S3-compatible object storage (S3_BUCKET, S3_ENDPOINT_URL), tested against
moto's S3 server on loopback: a photo uploaded through the product form is stored as
re-encoded WebP objects in the bucket, and the product page links them (presigned, or
under S3_PUBLIC_URL) so that a browser can download them."""
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid

import pytest
import requests
from PIL import Image

from marketplace.catalog.models import Product
from marketplace.config import ProductionConfig, from_environment
from marketplace.core import storage as storage_module
from marketplace.core.storage import LocalStorage, S3Storage, make_storage
from marketplace.extensions import db
from tests.conftest import fresh_context, jpeg_bytes, owner_of
from tests.jobs.servers import free_port, wait_until

FORM = {"title": "Qinling wood-ear", "category": "fungi", "description": "", "origin": "Zhashui",
        "unit": "250 g bag", "price": "39.80", "stock": "240", "status": "active"}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _moto_server_binary():
    return shutil.which("moto_server") or shutil.which("moto_server", path=os.path.dirname(sys.executable))


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory):
    binary = _moto_server_binary()
    if not binary:
        pytest.skip("moto_server not found: pip install 'moto[server]' to test S3 storage")
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up():
        assert process.poll() is None, f"moto_server exited with {process.returncode}"
        try:
            return requests.get(url + "/moto-api/", timeout=2).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False

    try:
        wait_until(up, seconds=60, what="moto_server")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def bucket(moto_url, monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    import boto3

    name = f"media-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_url)
    client.create_bucket(Bucket=name)
    yield name, client
    for item in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)
    client.close()


@pytest.fixture
def public_links():
    """False: pages link presigned URLs. A test parametrizes it True for S3_PUBLIC_URL."""
    return False


@pytest.fixture
def app(app_factory, moto_url, bucket, public_links):
    """This module's test app, its images in the bucket; with public_links, linked under
    S3_PUBLIC_URL (as behind a CDN or from a public-read bucket)."""
    public = f"{moto_url}/{bucket[0]}/" if public_links else None
    app = app_factory(S3_BUCKET=bucket[0], S3_ENDPOINT_URL=moto_url, S3_PUBLIC_URL=public)
    with fresh_context(app):
        yield app


def upload_product_photo(client, login, make) -> Product:
    """A cooperative owner lists a product with a GPS-tagged phone photo through the form."""
    login(owner_of(make.coop()))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (34.0, 10.0, 0.0)}  # GPS position: must never be published
    photo = jpeg_bytes(size=(1600, 1200), exif=exif)
    response = client.post("/my/products/new", data={**FORM, "photo": (io.BytesIO(photo), "IMG_0001.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return db.session.scalar(db.select(Product))


def image_links(page_html: str) -> list[str]:
    return [html.unescape(src) for src in re.findall(r'<img src="([^"]+)"', page_html)]


def test_uploaded_photo_is_stored_in_the_bucket_and_the_page_links_presigned_urls(client, login, make, moto_url,
                                                                                  bucket, tmp_path):
    bucket_name, s3 = bucket
    product = upload_product_photo(client, login, make)
    key = product.cover_key
    stored = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket_name)["Contents"]}
    assert stored == {f"{key}-thumb.webp", f"{key}-medium.webp", f"{key}-large.webp"}
    large = s3.get_object(Bucket=bucket_name, Key=f"{key}-large.webp")
    assert large["ContentType"] == "image/webp" and "immutable" in large["CacheControl"]
    with Image.open(io.BytesIO(large["Body"].read())) as image:  # re-encoded: WebP, no metadata
        assert image.format == "WEBP" and image.size == (1440, 1080) and not image.getexif()
    assert not os.path.exists(tmp_path / "uploads" / f"{key}-large.webp")  # nothing on local disk

    page = client.get(f"/products/{product.id}")
    medium = next(link for link in image_links(page.get_data(as_text=True)) if f"{key}-medium.webp" in link)
    assert medium.startswith(f"{moto_url}/{bucket_name}/{key}-medium.webp?") and "X-Amz-Signature=" in medium
    assert f"img-src 'self' {moto_url} " in page.headers["Content-Security-Policy"]  # the browser may load it
    download = requests.get(medium, timeout=10)  # what the buyer's browser does
    assert download.status_code == 200
    assert download.content == s3.get_object(Bucket=bucket_name, Key=f"{key}-medium.webp")["Body"].read()
    assert client.get(f"/media/{key}-medium.webp").status_code == 404  # the app serves no copy
    again = image_links(client.get(f"/products/{product.id}").get_data(as_text=True))
    assert medium in again  # reused while valid long enough: no re-signing, and the browser's cache holds


@pytest.mark.parametrize("public_links", [True])
def test_with_a_public_url_pages_link_stable_unsigned_urls(client, login, make, moto_url, bucket):
    name, s3 = bucket
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}]}))
    public = f"{moto_url}/{name}"  # anyone may read: what a CDN origin or a public bucket policy gives
    product = upload_product_photo(client, login, make)
    page = client.get(f"/products/{product.id}")
    assert f"img-src 'self' {moto_url} " in page.headers["Content-Security-Policy"]
    first = image_links(page.get_data(as_text=True))
    again = image_links(client.get(f"/products/{product.id}").get_data(as_text=True))
    expected = f"{public}/{product.cover_key}-medium.webp"
    assert expected in first and first == again  # the same URL every time: caches keep it
    download = requests.get(expected, timeout=10)
    assert download.status_code == 200 and download.content[8:12] == b"WEBP"
    listing = client.get(f"/api/v1/products/{product.id}").get_json()
    assert listing["images"][0]["large"] == f"{public}/{product.cover_key}-large.webp"


def test_storage_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("S3_BUCKET", "rural-goods-media")
    monkeypatch.setenv("S3_ENDPOINT_URL", "https://minio.internal:9000")
    monkeypatch.setenv("S3_PRESIGN_SECONDS", "600")
    config = {**from_environment(ProductionConfig), "UPLOAD_FOLDER": str(tmp_path)}
    storage = make_storage(config)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.endpoint_url, storage.public_url, storage.presign_seconds) == (
        "rural-goods-media", "https://minio.internal:9000", None, 600)
    monkeypatch.delenv("S3_BUCKET")
    assert isinstance(make_storage({**from_environment(ProductionConfig), "UPLOAD_FOLDER": str(tmp_path)}),
                      LocalStorage)


def test_presigned_links_are_reused_for_half_their_life_then_signed_again(monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    storage = S3Storage("rural-goods-media", "http://127.0.0.1:9", presign_seconds=600)
    signed = []
    sign = storage.client.generate_presigned_url
    monkeypatch.setattr(storage.client, "generate_presigned_url", lambda *a, **kw: signed.append(1) or sign(*a, **kw))
    clock = [1000.0]
    monkeypatch.setattr(storage_module.time, "monotonic", lambda: clock[0])
    name = "0123456789abcdef0123456789abcdef-thumb.webp"
    first = storage.url(name)
    assert "X-Amz-Expires=600" in first and len(signed) == 1
    clock[0] += 299
    assert storage.url(name) == first and len(signed) == 1  # still valid for 301 s or more
    clock[0] += 2
    storage.url(name)
    assert len(signed) == 2  # would be valid for less than half its life: signed anew
