"""Compressed answers (Flask-Compress): pages, CSS and JavaScript go out brotli- or
gzip-encoded when the client asks for it, as a phone on a slow link needs: the live
room's hls.js shrinks from 610 KiB to 190 KiB, the stylesheet from 19 KiB to 6 KiB
(docs/benchmarks.md, Lighthouse section).

Call init_app before core.page_cache.init_app: Flask runs after_request hooks in
reverse order, so the page cache sees the page before compression (to put the
visitor's CSRF token in) and keeps the compressed copy afterwards, per
Accept-Encoding (see page_cache). Live-room event streams (text/event-stream) are
not in the list: each event must reach the viewer when it is sent. Nor is the JSON
API: its answers are small, and API clients and tools that read the raw body
(schemathesis over WSGI) get it as they always did.
"""
from flask_compress import Compress

#: what is worth compressing; images (WebP) and video are compressed already
MIMETYPES = ["text/html", "text/css", "text/plain", "text/javascript", "application/javascript", "image/svg+xml"]

compress = Compress()


def init_app(app):
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    # brotli where the browser offers it (over HTTPS), else gzip (every client; Chrome offers
    # only gzip and deflate over plain http). Files sent in chunks (static, /vendor) alike.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip", "deflate"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip", "deflate"])
    compress.init_app(app)
    app.after_request(_close_streamed_file)  # registered later: runs before flask-compress's hook


def _close_streamed_file(response):
    """flask-compress replaces a streamed file (static, /vendor) with a generator that
    compresses it and never closes the file: close it when the answer is done."""
    body = response.response
    if response.is_streamed and callable(getattr(body, "close", None)):
        response.call_on_close(body.close)
    return response
