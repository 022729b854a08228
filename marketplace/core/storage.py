"""Where uploaded images live: a local folder (instance/uploads, the default) or an
S3-compatible bucket when S3_BUCKET is set (AWS, MinIO, Ceph ... through boto3).

Both storages have one interface: save / path / delete / url / read. Keys are generated
by the application (`<32 hex>-<size>.webp`); a user's file name never reaches storage.

Links to images in the bucket are either public or presigned:

* S3_PUBLIC_URL set (a CDN or a public-read bucket): pages link `<S3_PUBLIC_URL>/<key>`.
  Stable URLs, so browsers, the CDN and the page cache keep them; the choice for
  product and show photos, which are public anyway.
* S3_PUBLIC_URL unset: pages link presigned GET URLs; the bucket stays private. Signing
  costs CPU (about 0.3-1.6 ms a URL here, three sizes an image), so each process reuses
  a URL for half of S3_PRESIGN_SECONDS: a link in a page is valid for at least the other
  half, and browsers can cache the image meanwhile.

Either way the bucket's origin is added to the pages' Content-Security-Policy img-src.
"""
import errno
import os
import re
import threading
import time
from collections import OrderedDict
from functools import cached_property
from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from .errors import DomainError

_KEY = re.compile(r"^[0-9a-f]{32}-(thumb|medium|large)\.webp$")
SIZES = ("thumb", "medium", "large")
#: derivatives never change once written (a new upload gets a new key)
CACHE_CONTROL = "public, max-age=31536000, immutable"
SIGNED_URLS_KEPT = 20_000  #: presigned URLs each process keeps for reuse (about 5 MB)


class LocalStorage:
    def __init__(self, root: str):
        self.root = root
        os.makedirs(root, exist_ok=True)

    def save(self, name: str, data: bytes) -> None:
        tmp = os.path.join(self.root, name + ".part")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, os.path.join(self.root, name))  # readers never see half a file
        except OSError:  # e.g. the disk is full: leave no half-written file behind
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def path(self, name: str) -> str | None:
        if not _KEY.match(name):
            return None
        full = os.path.join(self.root, name)
        return full if os.path.exists(full) else None

    def read(self, name: str) -> bytes | None:
        full = self.path(name)
        if full is None:
            return None
        with open(full, "rb") as fh:
            return fh.read()

    def delete(self, name: str) -> None:
        full = self.path(name)
        if full:
            os.remove(full)

    def url(self, name: str) -> str:
        return url_for("media", name=name)


class S3Storage:
    """Images as objects in one bucket. The boto3 client is made on first use, so a
    process forked after the app was created (gunicorn, rq) makes its own."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, public_url: str | None = None,
                 presign_seconds: int = 3600):
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.public_url = public_url.rstrip("/") if public_url else None
        self.presign_seconds = presign_seconds
        self._signed = OrderedDict()  #: key -> (url, reuse until); least recently used first
        self._lock = threading.Lock()

    @cached_property
    def client(self):
        import boto3  # only when object storage is configured
        from botocore.config import Config

        # SigV4 presigned URLs (SigV2 is refused by newer AWS regions); path-style addressing
        # works with every S3-compatible server (MinIO, Ceph, moto)
        config = Config(signature_version="s3v4",
                        s3={"addressing_style": "path" if self.endpoint_url else "auto"})
        return boto3.client("s3", endpoint_url=self.endpoint_url, config=config)

    def save(self, name: str, data: bytes) -> None:
        # one PUT: S3 never shows readers a half-written object
        self.client.put_object(Bucket=self.bucket, Key=name, Body=data, ContentType="image/webp",
                               CacheControl=CACHE_CONTROL)

    def path(self, name: str) -> None:
        return None  # no local file: pages link the bucket directly, /media has nothing to serve

    def read(self, name: str) -> bytes | None:
        if not _KEY.match(name):
            return None
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def delete(self, name: str) -> None:
        if _KEY.match(name):
            self.client.delete_object(Bucket=self.bucket, Key=name)

    def url(self, name: str) -> str:
        if self.public_url:
            return f"{self.public_url}/{name}"
        now = time.monotonic()
        with self._lock:
            signed = self._signed.get(name)
            if signed and signed[1] > now:
                self._signed.move_to_end(name)
                return signed[0]
        url = self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": name},
                                                 ExpiresIn=self.presign_seconds)
        with self._lock:
            self._signed[name] = (url, now + self.presign_seconds / 2)
            while len(self._signed) > SIGNED_URLS_KEPT:
                self._signed.popitem(last=False)
        return url

    @cached_property
    def origin(self) -> str:
        """scheme://host[:port] the images are served from, for the CSP."""
        parts = urlsplit(self.url("0" * 32 + "-thumb.webp"))
        return f"{parts.scheme}://{parts.netloc}"


def make_storage(config) -> LocalStorage | S3Storage:
    if config.get("S3_BUCKET"):
        return S3Storage(config["S3_BUCKET"], config.get("S3_ENDPOINT_URL"), config.get("S3_PUBLIC_URL"),
                         int(config.get("S3_PRESIGN_SECONDS") or 3600))
    return LocalStorage(config["UPLOAD_FOLDER"])


def init_app(app) -> None:
    """Pick the storage; with a bucket, let pages load images from its origin."""
    storage = app.extensions["storage"] = make_storage(app.config)
    if isinstance(storage, S3Storage):
        # registered before web.py's security headers, so (after_request runs in reverse)
        # this runs after them and finds the policy in place
        app.after_request(lambda response: _allow_images_from(storage.origin, response))


def _allow_images_from(origin: str, response):
    policy = response.headers.get("Content-Security-Policy")
    if policy and origin not in policy:
        response.headers["Content-Security-Policy"] = policy.replace("img-src 'self'", f"img-src 'self' {origin}", 1)
    return response


def get_storage() -> LocalStorage | S3Storage:
    return current_app.extensions["storage"]


class StorageFull(DomainError):
    status = 507
    code = "storage_full"


#: a write refused for want of space (a full disk, a used-up quota)
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def store_image(processed) -> str:
    """Save every derivative of a ProcessedImage; returns its key. A full disk saves none
    of them (those already written are removed) and raises StorageFull."""
    storage = get_storage()
    saved = []
    try:
        for size, data in processed.derivatives.items():
            storage.save(f"{processed.key}-{size}.webp", data)
            saved.append(f"{processed.key}-{size}.webp")
    except OSError as err:
        if err.errno not in NO_SPACE:
            raise
        current_app.logger.error("no space left to store an image: %s", err)
        for name in saved:
            storage.delete(name)
        raise StorageFull(_l("There is no room left to store photos right now. Nothing was saved. "
                             "Please try again later.")) from None
    return processed.key


def image_urls(key: str | None) -> dict:
    if not key:
        return {}
    storage = get_storage()
    return {size: storage.url(f"{key}-{size}.webp") for size in SIZES}
