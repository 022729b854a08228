"""Compressed answers (Flask-Compress): pages, CSS and JavaScript go out brotli- or
gzip-encoded when the client asks for it, as a phone on a slow link needs: the live
room's hls.js shrinks from 610 KiB to 190 KiB, the stylesheet from 19 KiB to 6 KiB
(docs/benchmarks.md, Lighthouse section).

Call init_app before core.page_cache.init_app: Flask runs after_request hooks in
reverse order, so the page cache sees the page before compression (to put the
visitor's CSRF token in) and keeps the compressed copy afterwards, per
Accept-Encoding (see page_cache; a page with a token placeholder is kept plain, and
core.page_tokens gzips each visitor's copy). Live-room event streams (text/event-stream) are
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
    app.after_request(_read_file_before_compressing)  # registered later: runs before flask-compress's hook


def _read_file_before_compressing(response):
    """A file answer (static, /vendor) is streamed from an open file. Left so, flask-compress
    would compress it through a generator, and the file would stay open until the server
    closes the answer -- or until the garbage collector does, when the browser dropped the
    request (a ResourceWarning that failed browser tests now and then). The files worth
    compressing are small (CSS, scripts), so read them here and close the file at once."""
    source = response.response
    if (response.direct_passthrough and response.is_streamed and response.status_code == 200
            and response.mimetype in MIMETYPES):
        response.direct_passthrough = False
        response.make_sequence()
        close = getattr(source, "close", None)
        if close is not None:
            close()
    return response
