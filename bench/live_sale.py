"""The host's and the buyers' side of the live benchmark, over the real HTTP API.

`pin` is the host pressing "pin" in the console (POST /api/v1/livestreams/{id}/pin);
`flash_sale` is every buyer pressing "buy" at the same moment: one thread and one
keep-alive connection per buyer, from its own loopback address (so the per-address
checkout rate limit sees distinct people), all released by one barrier once
connected. Each outcome is kept: status, error code, amount, and latency.
"""
import http.client
import json
import statistics
import threading
import time

ADDRESS = {"name": "Wang Fang", "phone": "13800000000", "province": "Beijing", "city": "Beijing",
           "address": "1 Chang'an Avenue"}


def buyer_address(n: int) -> str:
    return f"127.2.{n // 250}.{n % 250 + 1}"


def post_json(port, path, body, token=None, source=None, timeout=300.0):
    """(status, parsed JSON or None) of one POST."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        return _send(conn, path, body, token)
    finally:
        conn.close()


def _send(conn, path, body, token):
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST", path, json.dumps(body), headers)
    resp = conn.getresponse()
    raw = resp.read()
    try:
        return resp.status, json.loads(raw) if raw else None
    except ValueError:
        return resp.status, None


def pin(port, show_id, product_id, host_token) -> float:
    """Pin a product; returns the monotonic time the request was sent (the pin's t0)."""
    started = time.monotonic()
    status, body = post_json(port, f"/api/v1/livestreams/{show_id}/pin", {"product_id": product_id}, host_token)
    if status != 200:
        raise RuntimeError(f"pin answered {status}: {body}")
    return started


def flash_sale(ports, show_id, product_id, tokens, first_address=0) -> dict:
    """All buyers buy one unit at the live price at once; buyer n talks to ports[n % len(ports)]."""
    barrier = threading.Barrier(len(tokens) + 1)
    outcomes = [None] * len(tokens)
    body = {"items": [{"product_id": product_id, "quantity": 1, "livestream_id": show_id}],
            "shipping_address": ADDRESS}

    def buy(n, token):
        conn = http.client.HTTPConnection("127.0.0.1", ports[n % len(ports)], timeout=300,
                                          source_address=(buyer_address(first_address + n), 0))
        try:
            conn.connect()  # before the barrier: the rush is the requests, not the handshakes
            barrier.wait()
            started = time.perf_counter()
            status, data = _send(conn, "/api/v1/checkouts", body, token)
            outcomes[n] = (status, _code(data), (data or {}).get("amount_fen"), time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as err:
            outcomes[n] = (0, type(err).__name__, None, float("nan"))
        finally:
            conn.close()

    threads = [threading.Thread(target=buy, args=(n, t), daemon=True) for n, t in enumerate(tokens)]
    for t in threads:
        t.start()
    barrier.wait(60)
    released = time.monotonic()
    for t in threads:
        t.join(180)
    return summarise(outcomes, time.monotonic() - released)


def _code(data):
    return ((data or {}).get("error") or {}).get("code") if isinstance(data, dict) else None


def summarise(outcomes, seconds) -> dict:
    done = [o for o in outcomes if o is not None]
    latencies = sorted(o[3] * 1000 for o in done if o[3] == o[3])
    by_status: dict[str, int] = {}
    for status, code, *_ in done:
        key = f"{status} {code}" if code else str(status)
        by_status[key] = by_status.get(key, 0) + 1
    return {"buyers": len(outcomes), "answered": len(done), "seconds": seconds, "by_status": by_status,
            "created": sum(1 for o in done if o[0] == 201),
            "amounts": sorted({o[2] for o in done if o[0] == 201}),
            "server_errors": sum(1 for o in done if o[0] >= 500 or o[0] == 0),
            "p50_ms": statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan"),
            "max_ms": latencies[-1] if latencies else float("nan")}
