"""Answers are compressed as the client asks (marketplace/core/compression.py), and the
anonymous page cache keeps and serves the compressed copy without mixing encodings."""
import gc
import gzip
import re
import warnings

import brotli

from tests.catalog.test_page_cache import app  # noqa: F401 - the fixture: page cache on, as in production

GZIP = {"Accept-Language": "en", "Accept-Encoding": "gzip"}
CHROME = {"Accept-Language": "en", "Accept-Encoding": "gzip, deflate, br, zstd"}
PLAIN = {"Accept-Language": "en"}



def visit(app, path, headers):
    """A new anonymous visitor (no cookies)."""
    return app.test_client().get(path, headers=headers)


def test_catalog_page_is_gzipped_when_asked_and_the_cached_copy_stays_gzipped(app, make):
    make.product(title="秦岭黑木耳 Black wood-ear")
    plain = visit(app, "/products", PLAIN)
    assert "Content-Encoding" not in plain.headers and "Black wood-ear" in plain.get_data(as_text=True)

    first, second = visit(app, "/products", GZIP), visit(app, "/products", GZIP)
    assert (first.headers["X-Page-Cache"], second.headers["X-Page-Cache"]) == ("miss", "hit")
    for answer in (first, second):
        assert answer.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in answer.headers["Vary"]
        assert gzip.decompress(answer.get_data()) == plain.get_data()
        assert len(answer.get_data()) < len(plain.get_data()) / 2
    again = visit(app, "/products", PLAIN)  # the plain copy is kept apart from the gzipped one
    assert "Content-Encoding" not in again.headers and again.get_data() == plain.get_data()


def test_product_page_from_the_cache_gets_each_visitors_own_token_then_is_compressed(app, make):
    """The first view renders it (brotli, as asked first); the stored copy keeps a
    placeholder for the token, and its answers are gzip with each visitor's token spliced
    in (core/page_tokens.py: brotli cannot be cut and joined that way)."""
    product = make.product(title="秦岭黑木耳 Black wood-ear")
    tokens, encodings = [], []
    for _ in range(3):
        answer = visit(app, f"/products/{product.id}", CHROME)
        encodings.append((answer.headers.get("X-Page-Cache"), answer.headers["Content-Encoding"]))
        body = answer.get_data()
        html = (brotli.decompress(body) if answer.headers["Content-Encoding"] == "br" else gzip.decompress(body)).decode()
        assert "Black wood-ear" in html and "__page-cache-csrf-token__" not in html
        assert len(body) < len(html.encode()) * 0.6  # (a small page; its token does not compress)
        tokens.append(re.search(r'name="csrf_token" value="([^"]+)"', html).group(1))
    assert encodings[1:] == [("hit", "gzip"), ("hit", "gzip")], encodings
    assert len(set(tokens)) == 3


def test_stylesheet_is_compressed_when_asked_and_plain_otherwise(app):
    plain = visit(app, "/static/css/app.css", PLAIN)
    plain_body = plain.get_data()
    plain.close()  # the file it streamed
    assert "Content-Encoding" not in plain.headers and b"{" in plain_body
    packed = visit(app, "/static/css/app.css", GZIP)
    packed_body = packed.get_data()
    packed.close()
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed_body) == plain_body and len(packed_body) < len(plain_body) / 2


def test_a_compressed_file_is_not_left_open_when_the_browser_drops_the_answer(app):
    """A page navigated away from while its stylesheet loads: the answer is never read or
    closed. The file must be closed already (an open one is a ResourceWarning at collection)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dropped = visit(app, "/static/css/app.css", GZIP)
        assert dropped.headers["Content-Encoding"] == "gzip"
        del dropped
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []

def test_json_api_answers_stay_plain(app, make):
    make.product(title="秦岭黑木耳 Black wood-ear")
    answer = visit(app, "/api/v1/products", GZIP)
    assert answer.status_code == 200 and "Content-Encoding" not in answer.headers
    assert "Black wood-ear" in answer.get_data(as_text=True)
