"""The crowd: one keep-alive HTTP/1.1 connection per buyer, opened before the sale, and
every buyer's request written at the same instant (asyncio, no third-party client).

A minimal client on purpose: it shares two cores with the server it measures, so it
does little more than write prepared bytes and read status, headers and body.
"""
import asyncio
import json
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
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def answer(self, timeout) -> Answer:
        try:
            return await asyncio.wait_for(self._read(), timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
            await self.reopen()
            return Answer(0, b"", time.perf_counter())

    async def _read(self) -> Answer:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunks()
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", 0)))
        if headers.get("connection", "").lower() == "close":
            await self.reopen()
        return Answer(status, body, time.perf_counter())

    async def _chunks(self) -> bytes:
        body = b""
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return body
            body += chunk[:-2]

    async def reopen(self):
        self.close()
        try:
            await self.open()
        except OSError:
            self.reader = self.writer = None

    def close(self):
        if self.writer is not None:
            self.writer.close()


def request_bytes(method, path, host, headers=None, body=None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def open_all(host, port, count, batch=100) -> list[Connection]:
    """`count` connections, opened in batches (a listen backlog is finite)."""
    conns = [Connection(host, port) for _ in range(count)]
    for start in range(0, count, batch):
        await asyncio.gather(*(c.open() for c in conns[start:start + batch]))
    return conns


async def burst(conns, requests: list[bytes], timeout=120.0) -> tuple[float, list[Answer]]:
    """Write every request at once, one per connection, all in one turn of the event loop
    before any answer is read; with fewer connections than requests (a reverse proxy's
    upstream pool) each connection sends its share one after another. Returns (start
    time, answers in request order)."""
    answers: list[Answer | None] = [None] * len(requests)

    async def serve(k, conn):
        for i in range(k, len(requests), len(conns)):
            if conn.writer is None:
                await conn.reopen()
            if conn.writer is None:
                answers[i] = Answer(0, b"", time.perf_counter())
                continue
            conn.send(requests[i])
            answers[i] = await conn.answer(timeout)

    start = time.perf_counter()
    await asyncio.gather(*(serve(k, c) for k, c in enumerate(conns)))
    return start, answers
