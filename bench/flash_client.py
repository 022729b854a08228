"""The crowd: one keep-alive HTTP/1.1 connection per buyer, opened before the sale, and
every buyer's request written in one tight loop (plain sockets and one selector, no
asyncio, no third-party client).

A minimal client on purpose: it shares two cores with the server it measures. Writing
1,000 prepared requests from a loop of non-blocking sends costs a few milliseconds of
CPU, where starting 1,000 asyncio tasks cost 20-30 (with the server's first answers
waiting behind them), and one selector reads the answers for a fraction of asyncio's
per-answer task and stream machinery: the cores go to the server being measured.
"""
import json
import selectors
import socket
import time
from dataclasses import dataclass


@dataclass
class Answer:
    status: int  #: 0 when the connection failed (counted as an error)
    body: bytes
    done: float  #: perf_counter() when the whole response was read

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class Connection:
    def __init__(self, host, port):
        self.address = (host, port)
        self.sock = None
        self.buffer = b""
        self.waiting = None  #: index of the request whose answer is being read
        self.queue = []  #: indexes of the requests still to send on this connection

    def open(self) -> bool:
        self.close()
        try:
            self.sock = socket.create_connection(self.address, timeout=10)
        except OSError:
            return False
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        return True

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""


def request_bytes(method, path, host, headers=None, body=None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def open_all(host, port, count) -> list[Connection]:
    """`count` connections, opened one after another (each connect is a local handshake)."""
    conns = [Connection(host, port) for _ in range(count)]
    for conn in conns:
        conn.open()
    return conns


def parse(buffer: bytes):
    """(status, body, the bytes after this answer, "Connection: close"?) of the answer at
    the start of `buffer`, or None while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    rest = buffer[end + 4:]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunked = _chunks(rest)
        if chunked is None:
            return None
        body, rest = chunked
    else:
        size = int(headers.get("content-length", 0))
        if len(rest) < size:
            return None
        body, rest = rest[:size], rest[size:]
    return status, body, rest, headers.get("connection", "").lower() == "close"


def _chunks(data: bytes):
    body = b""
    while True:
        line_end = data.find(b"\r\n")
        if line_end < 0:
            return None
        size = int(data[:line_end].split(b";")[0], 16)
        chunk_end = line_end + 2 + size + 2
        if len(data) < chunk_end:
            return None
        if size == 0:
            return body, data[chunk_end:]
        body += data[line_end + 2:chunk_end - 2]
        data = data[chunk_end:]


class _Burst:
    """One burst's bookkeeping: which connection waits for which answer."""

    def __init__(self, conns, requests):
        self.requests = requests
        self.answers: list[Answer | None] = [None] * len(requests)
        self.selector = selectors.DefaultSelector()
        self.open = 0
        for k, conn in enumerate(conns):
            conn.queue = list(range(k, len(requests), len(conns)))

    def send_next(self, conn) -> None:
        """Write the connection's next request (reopening it if it is closed)."""
        while conn.queue:
            i = conn.queue.pop(0)
            if conn.sock is None and not conn.open():
                self.answers[i] = Answer(0, b"", time.perf_counter())
                continue
            try:
                conn.sock.sendall(self.requests[i])  # (small: the socket's buffer takes it whole)
            except OSError:
                self.answers[i] = Answer(0, b"", time.perf_counter())
                conn.close()
                continue
            conn.waiting = i
            self.selector.register(conn.sock, selectors.EVENT_READ, conn)
            self.open += 1
            return

    def read(self, conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # closed before the whole answer came
            self._finish(conn, Answer(0, b"", time.perf_counter()), close=True)
            return
        conn.buffer += data
        parsed = parse(conn.buffer)
        if parsed is not None:
            status, body, conn.buffer, close = parsed
            self._finish(conn, Answer(status, body, time.perf_counter()), close)

    def _finish(self, conn, answer, close) -> None:
        self.answers[conn.waiting] = answer
        self.selector.unregister(conn.sock)
        self.open -= 1
        conn.waiting = None
        if close:
            conn.close()
        self.send_next(conn)

    def give_up(self) -> None:
        now = time.perf_counter()
        for key in list(self.selector.get_map().values()):
            conn = key.data
            self.answers[conn.waiting] = Answer(0, b"", now)
            for i in conn.queue:
                self.answers[i] = Answer(0, b"", now)
            conn.queue = []
            self.selector.unregister(conn.sock)
            conn.close()
        self.open = 0


def burst(conns, requests: list[bytes], timeout=120.0) -> tuple[float, list[Answer]]:
    """Write every request at once, one per connection, before any answer is read; with
    fewer connections than requests (a reverse proxy's upstream pool) each connection
    sends its share one after another. Returns (start time, answers in request order)."""
    state = _Burst(conns, requests)
    start = time.perf_counter()
    for conn in conns:
        state.send_next(conn)
    deadline = start + timeout
    while state.open:
        events = state.selector.select(max(0.0, deadline - time.perf_counter()))
        if not events:
            state.give_up()
            break
        for key, _ in events:
            state.read(key.data)
    state.selector.close()
    return start, state.answers
