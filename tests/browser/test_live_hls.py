"""An HLS stream made here with Debian's ffmpeg (H.264 video + AAC audio) plays in
the live room in Chromium: the room loads hls.js from node_modules (/vendor), which
fetches the playlist and segments from the stream's host and plays them through
MediaSource, under the room's real Content-Security-Policy.

The stream is served over HTTPS on loopback with a certificate made for the test,
as a real stream host would serve it: the room's policy admits media and fetches
from https: sources only (marketplace/web.py CSP_LIVE), never plain http of
another origin. The browser context trusts that one certificate by ignoring
HTTPS errors."""
import datetime
import functools
import http.server
import ipaddress
import os
import re
import ssl
import subprocess
import threading
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.livestream import services
from marketplace.livestream.views import hls_version
from tests.conftest import Factory, owner_of

FFMPEG = "/usr/bin/ffmpeg"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(FFMPEG), reason=f"ffmpeg not found at {FFMPEG} "
                                 "(apt-get install -y ffmpeg): it makes the test stream")]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "ignore_https_errors": True}  # the stream host's test certificate


def make_stream(folder):
    """Six seconds of test picture and a 440 Hz tone, as three 2-second MPEG-TS segments."""
    folder.mkdir()
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin",
                    "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                    "-t", "6", "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "25",
                    "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
                    "-hls_playlist_type", "vod", "-hls_segment_filename", str(folder / "seg%d.ts"),
                    str(folder / "live.m3u8")], check=True, timeout=120)
    return folder


def self_signed(folder):
    """A certificate for 127.0.0.1, valid for a day, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class StreamHandler(http.server.SimpleHTTPRequestHandler):
    """Files of the stream folder with HLS media types, readable by any origin (hls.js
    fetches them from the room's page), and a note of every path asked for."""

    extensions_map = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", "": "application/octet-stream"}

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_GET(self):
        self.server.asked.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass  # quiet: the test asserts on server.asked instead


@pytest.fixture
def stream_host(tmp_path):
    """(playlist URL, paths asked for) of the test stream served over HTTPS on loopback."""
    folder = make_stream(tmp_path / "hls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(StreamHandler, directory=str(folder)))
    # the handshake happens in each request's thread, so one slow client cannot stall accept()
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}/live.m3u8", server.asked
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def live_show_of(live_server, stream_url):
    with live_server.app_context():
        coop = Factory().coop(name="Qinling Wood-ear Co-op")
        host = owner_of(coop)
        start = utcnow() + timedelta(minutes=5)
        show = services.schedule(host, coop, {"title": "Drying racks, live", "stream_url": stream_url,
                                              "starts_at": start, "ends_at": start + timedelta(hours=1)}, [])
        services.start(host, show)
        db.session.commit()
        return show.id


PLAYING = """(t) => { const v = document.getElementById('live-video');
  return v && !v.error && v.readyState >= 3 && v.currentTime > t; }"""


def test_a_local_h264_aac_hls_stream_plays_in_the_live_room(page, live_server, live_url, stream_host, shot):
    stream_url, asked = stream_host
    show_id = live_show_of(live_server, stream_url)
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(f"{live_url}/shows/{show_id}")
    video = page.locator("#live-video")
    expect(video).to_have_attribute("data-src", stream_url)
    page.wait_for_function(PLAYING, arg=0.5, timeout=30_000)
    first = page.evaluate("document.getElementById('live-video').currentTime")
    page.wait_for_function(PLAYING, arg=first + 0.5, timeout=15_000)  # and it keeps playing
    state = page.evaluate("""() => { const v = document.getElementById('live-video');
      return {error: v.error && v.error.code, src: v.currentSrc, width: v.videoWidth, height: v.videoHeight,
              hls: !!window.Hls, paused: v.paused}; }""")
    shot("playing")

    assert state["error"] is None and not state["paused"]
    assert (state["width"], state["height"]) == (320, 240)  # the H.264 picture was decoded
    if hls_version():  # hls.js from node_modules: MediaSource, fed from a blob: URL
        assert state["hls"] and state["src"].startswith("blob:"), state
    assert "/live.m3u8" in asked and any(p.endswith(".ts") for p in asked)
    assert blocked == []
    expect(page.locator("#player-fallback")).not_to_have_class(re.compile(r"\bis-needed\b"))


def replay_of(live_server, replay_url):
    """An ended show whose replay is the test stream; two products pinned 0 s and 3 s in."""
    with live_server.app_context():
        make = Factory()
        coop = make.coop()
        host = owner_of(coop)
        products = [make.product(coop, title=t, price_fen=3000, stock=10) for t in ("Black wood-ear", "Day lily")]
        start = utcnow() + timedelta(minutes=5)
        show = services.schedule(host, coop, {"title": "Yesterday's drying racks", "stream_url": replay_url,
                                              "starts_at": start, "ends_at": start + timedelta(hours=1)},
                                 [{"product_id": p.id, "live_price_fen": 2500, "quota": 5} for p in products])
        services.start(host, show)
        pins = [services.pin(host, show, p.id) for p in products]
        services.end(host, show)
        began = show.started_at
        pins[0].pinned_at, pins[0].unpinned_at = began, began + timedelta(seconds=3)
        pins[1].pinned_at = began + timedelta(seconds=3)
        show.replay_url = replay_url
        db.session.commit()
        return show.id


def test_the_replay_plays_and_its_pin_timeline_seeks_to_the_product(page, live_server, live_url, stream_host, shot):
    stream_url, _asked = stream_host
    show_id = replay_of(live_server, stream_url)

    page.goto(f"{live_url}/shows/{show_id}/replay")
    page.wait_for_function(PLAYING, arg=0.2, timeout=30_000)
    timeline = page.locator(".pin-timeline li")
    expect(timeline).to_have_count(2)
    expect(timeline.nth(1)).to_contain_text("Day lily")
    timeline.nth(1).get_by_role("button", name="Play from 0:03").click()
    page.wait_for_function(PLAYING, arg=3.2, timeout=15_000)  # jumped to 0:03 and plays on from there
    shot("replay-seeked")
    product_link = timeline.nth(1).get_by_role("link", name="Day lily")
    expect(product_link).to_have_attribute("href", re.compile(r"/products/\d+$"))
