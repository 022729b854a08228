"""Load generator for the live benchmark: thousands of live-room viewers on the
Server-Sent Events stream. One process holds a share of the crowd; the benchmark
starts several (bench/live_phase.py), so reading thousands of sockets at the moment
a pin goes out is spread over the cores and the generator's own delay stays small.

    python -m bench.live_viewers --port 8001 --path /api/v1/livestreams/1/events --viewers 1000 --first 0

Each viewer is a raw asyncio Protocol (no HTTP library: a few hundred bytes of state
per connection, one callback per TCP read) that sends the request an EventSource
sends, checks the status line, and notes the time (time.monotonic(), the system-wide
CLOCK_MONOTONIC, so another process can compare its own clock readings) at which each
`pin` event first arrives; a read without a pin in it costs one substring search.
The event loop is uvloop's when it is installed (libuv: a cheaper callback per read).
Viewers connect from distinct loopback addresses (127.1.x.y, numbered from --first),
as distinct people would, at a bounded rate.

It talks over stdin/stdout in JSON lines: it prints {"type": "status", ...} every
second; on "stop" it closes every connection and prints {"type": "final", ...} with
the pin receipt times by event id, the connection outcomes, and its own peak RSS and CPU.
"""
import argparse
import asyncio
import json
import re
import resource
import sys
import time

PIN = re.compile(rb"id: (\d+)\nevent: pin\n")
TAIL = 96  # bytes kept from the previous read, so an event split across reads is still seen


class Viewer(asyncio.Protocol):
    __slots__ = ("request", "transport", "status", "streaming", "closed", "error", "tail", "pins", "bytes")

    def __init__(self, request: bytes):
        self.request = request
        self.transport = None
        self.status = None  # the HTTP status code once the status line arrived
        self.streaming = False  # the stream's body began
        self.closed = False
        self.error = None
        self.tail = b""
        self.pins = {}  # event id -> monotonic time of first receipt
        self.bytes = 0

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        now = time.monotonic()  # first: the receipt time is when this read was handed to us
        self.bytes += len(data)
        buf = self.tail + data  # (a pin split across two reads is still seen whole)
        self.tail = buf[-TAIL:]
        if not self.streaming:
            self._head(buf)
        if b"event: pin" in buf:  # the common read (keepalive, viewer count) stops here
            for match in PIN.finditer(buf):
                self.pins.setdefault(int(match.group(1)), now)

    def _head(self, buf):
        if self.status is None and b"\r\n" in buf:
            line = buf.split(b"\r\n", 1)[0].split()
            self.status = int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
            if self.status != 200:
                self.error = f"HTTP {self.status}"
                self.transport.close()
                return
        if b"retry: " in buf:  # the stream's first line, sent once the state is read
            self.streaming = True

    def connection_lost(self, exc):
        self.closed = True
        if exc is not None and self.error is None:
            self.error = type(exc).__name__


def source_address(n: int) -> str:
    """A distinct loopback address per viewer (all of 127.0.0.0/8 is the loopback interface)."""
    return f"127.1.{n // 250}.{n % 250 + 1}"


class Crowd:
    def __init__(self, args):
        self.args = args
        self.viewers: list[Viewer] = []
        self.connect_errors: dict[str, int] = {}
        self.request = (f"GET {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
                        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
                        "User-Agent: bench-live-viewer\r\n\r\n").encode()

    async def connect_all(self):
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(self.args.connect_concurrency)
        started = time.monotonic()

        async def one(n):
            async with gate:
                viewer = Viewer(self.request)
                try:
                    await loop.create_connection(lambda: viewer, "127.0.0.1", self.args.port,
                                                 local_addr=(source_address(self.args.first + n), 0))
                    self.viewers.append(viewer)
                except OSError as err:
                    kind = type(err).__name__
                    self.connect_errors[kind] = self.connect_errors.get(kind, 0) + 1

        tasks = []
        for n in range(self.args.viewers):
            delay = started + n / self.args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)

    def status(self) -> dict:
        v = self.viewers
        return {"type": "status", "connected": len(v), "streaming": sum(x.streaming and not x.closed for x in v),
                "closed": sum(x.closed for x in v), "connect_errors": sum(self.connect_errors.values()),
                "requested": self.args.viewers}

    def final(self) -> dict:
        pins: dict[int, list[float]] = {}
        errors = dict(self.connect_errors)
        for v in self.viewers:
            for event_id, t in v.pins.items():
                pins.setdefault(event_id, []).append(t)
            if v.error:
                errors[v.error] = errors.get(v.error, 0) + 1
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {**self.status(), "type": "final", "open_at_stop": sum(not x.closed for x in self.viewers),
                "pins": {str(k): ts for k, ts in pins.items()}, "errors": errors,
                "bytes": sum(x.bytes for x in self.viewers), "peak_rss_kb": peak_rss_kb(),
                "cpu_seconds": usage.ru_utime + usage.ru_stime}

    def close(self):
        for v in self.viewers:
            if v.transport is not None:
                v.transport.abort()


def peak_rss_kb() -> int:
    """This process's peak RSS (VmHWM; ru_maxrss would include the parent's before exec)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))


def raise_open_files_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main(args):
    limit = raise_open_files_limit(args.viewers + 256)
    if limit < args.viewers + 64:
        emit({"type": "error", "message": f"open-files limit {limit} is below {args.viewers} viewers"})
        return 2
    crowd = Crowd(args)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def commands():
        while not stop.is_set():
            line = await reader.readline()
            if not line or line.strip() == b"stop":
                stop.set()

    async def report():
        while not stop.is_set():
            emit(crowd.status())
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass

    tasks = [asyncio.create_task(c) for c in (commands(), report(), crowd.connect_all())]
    await stop.wait()
    final = crowd.final()  # before closing: what was open at the moment of "stop"
    crowd.close()
    for task in tasks:
        task.cancel()
    emit(final)
    return 0


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True, help="server port on 127.0.0.1")
    p.add_argument("--path", required=True, help="the event stream's path")
    p.add_argument("--viewers", type=int, default=2000, help="viewers of this process")
    p.add_argument("--first", type=int, default=0, help="number of this process's first viewer (its address)")
    p.add_argument("--rate", type=float, default=200.0, help="new connections per second")
    p.add_argument("--connect-concurrency", type=int, default=200, help="TCP connects in flight at once")
    return p.parse_args(argv)


def event_loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


if __name__ == "__main__":
    if event_loop_name() == "uvloop":
        import uvloop

        sys.exit(uvloop.run(main(parse())))
    sys.exit(asyncio.run(main(parse())))
