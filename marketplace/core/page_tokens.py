"""A visitor's own CSRF token in a stored page, put in by the page cache's middleware.

The product page's "Add to cart" form needs a Flask-WTF token, which lives in the
visitor's session. Its stored copy keeps a placeholder (core.page_cache). Putting the
visitor's token there used to go through the whole Flask request (rate limiter, login,
locale, logs, metrics, security headers, a Response, the session), which made a cached
product page cost four times a cached catalog page. What is really per visitor is
small, and done here without Flask, the way Flask-WTF and Flask do it:

* the raw token, made as flask_wtf.csrf.generate_csrf makes it, kept in a new session;
* that session saved by the app's own session interface (the same signed cookie,
  cookie flags and Vary: Cookie as Flask sends);
* the form's token signed from the raw one by the serializer Flask-WTF checks with.

The add-to-cart POST then passes Flask-WTF's usual check: protection is unchanged.

A visitor who got such a page comes back with that session cookie. As long as their
session holds nothing but the token (no login, cart, language, flash), Flask would
render them exactly the anonymous page, so they are served the stored copies too,
with the token of their session and no new cookie (session_token).

Compression: a stored page with a placeholder is kept uncompressed. For a visitor who
accepts gzip, the parts between placeholders are deflated once per page (each ending
on a full flush, so no part refers back across the cut) and every answer sends them
with the token between them as a stored (uncompressed) deflate block, plus the CRC of
the whole: a real gzip body for the cost of a CRC over the page.
"""
import hashlib
import os
import struct
import threading
import zlib
from functools import lru_cache

from itsdangerous import URLSafeTimedSerializer
from werkzeug.datastructures import Headers
from werkzeug.http import parse_accept_header
from werkzeug.sansio.response import Response as SansIOResponse

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  #: no name, no mtime, OS unknown
MAX_SPLICED = 512  #: pages whose gzip parts are kept; the memo is dropped when full


class _CookieCollector(SansIOResponse):
    """Just enough of a response for SessionInterface.save_session: its headers
    (Set-Cookie, Vary) are what the visitor's answer adds to the stored page's."""

    def __init__(self):
        super().__init__(status=200, headers=Headers())


class TokenFiller:
    """Answers stored pages that need a CSRF token, for a visitor with no session or a token-only one."""

    def __init__(self, app, placeholder: bytes):
        self.app, self.placeholder = app, placeholder
        self._signer = None
        self._spliced: dict[bytes, "SplicedGzip"] = {}
        self._lock = threading.Lock()

    def _form_signer(self):
        if self._signer is None:  # built at first use: tests may set the key after create_app
            config = self.app.config
            self._signer = (URLSafeTimedSerializer(config.get("WTF_CSRF_SECRET_KEY") or self.app.secret_key,
                                                   salt="wtf-csrf-token"),
                            config.get("WTF_CSRF_FIELD_NAME") or "csrf_token")
        return self._signer

    def session_token(self, environ) -> str | None:
        """The raw CSRF token of a visitor whose session cookie is valid and holds only
        that token (opened by the app's session interface, so signature and age are
        checked as Flask checks them); None for any other session. (Flask would answer
        such a visitor with the same session signed again, Flask-Login's strong session
        protection having touched it, and a deletion of a remember cookie they do not
        have: no cookie leaves them in the same state.)"""
        _, field = self._form_signer()
        session = self.app.session_interface.open_session(self.app, self.app.request_class(environ))
        if session is None or list(session.keys()) != [field] or not isinstance(session[field], str):
            return None
        return session[field]

    def answer(self, environ, page, raw=None):
        """(extra headers, body) of `page` for this visitor: their token in place, and when
        they have no session yet (`raw` None), the session cookie that holds it."""
        signer, field = self._form_signer()
        headers = []
        if raw is None:
            raw = hashlib.sha1(os.urandom(64)).hexdigest()  # as flask_wtf.csrf.generate_csrf does
            headers = self._new_session_cookie(field, raw)
        token = signer.dumps(raw).encode()
        if accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
            return headers + [("Content-Encoding", "gzip")], self.spliced(page.body).with_token(token)
        return headers, page.body.replace(self.placeholder, token)

    def _new_session_cookie(self, field, raw):
        interface = self.app.session_interface
        session = interface.session_class()
        session[field] = raw
        collected = _CookieCollector()
        interface.save_session(self.app, session, collected)
        # the stored page has its own type and Vary (every page varies by Cookie: web._security_headers)
        return [(k, v) for k, v in collected.headers.items() if k.lower() not in ("content-type", "vary")]

    def spliced(self, body: bytes) -> "SplicedGzip":
        """The page's gzip parts, made once per page body (bodies compare by content, so
        a copy read again from Redis finds them too)."""
        found = self._spliced.get(body)
        if found is None:
            found = SplicedGzip(body, self.placeholder)
            with self._lock:
                if len(self._spliced) >= MAX_SPLICED:
                    self._spliced.clear()
                self._spliced[body] = found
        return found


@lru_cache(maxsize=1000)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (browsers send a handful of distinct ones)."""
    return parse_accept_header(accept_encoding)["gzip"] > 0 if accept_encoding else False


class SplicedGzip:
    """A body cut at its placeholders, each part deflated once (see the module's docstring)."""

    def __init__(self, body: bytes, placeholder: bytes):
        self.raw_parts = body.split(placeholder)
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        self.deflated = [compressor.compress(part) + compressor.flush(zlib.Z_FULL_FLUSH)
                         for part in self.raw_parts[:-1]]
        self.deflated.append(compressor.compress(self.raw_parts[-1]) + compressor.flush(zlib.Z_FINISH))

    def with_token(self, token: bytes) -> bytes:
        # a stored block: header byte (not final, type 00; we are on a byte boundary after
        # a full flush), LEN, NLEN, then the bytes as they are
        stored = b"\x00" + struct.pack("<HH", len(token), len(token) ^ 0xFFFF) + token
        crc, out = 0, [GZIP_HEADER]
        for i, (raw, deflated) in enumerate(zip(self.raw_parts, self.deflated)):
            if i:
                out.append(stored)
                crc = zlib.crc32(token, crc)
            out.append(deflated)
            crc = zlib.crc32(raw, crc)
        size = sum(map(len, self.raw_parts)) + len(token) * (len(self.raw_parts) - 1)
        out.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
        return b"".join(out)
