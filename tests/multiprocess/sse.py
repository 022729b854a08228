"""A viewer's EventSource for tests: one real HTTP connection to a server process, read
in a thread, the events kept in order. Tests wait on them with a deadline."""
import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Event:
    id: int
    type: str
    data: dict


class EventStream:
    def __init__(self, base_url, path, source="127.0.0.1", headers=None, timeout=120):
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                               source_address=(source, 0))
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        if self.response.status != 200:
            raise AssertionError(f"{path} answered {self.response.status}: {self.response.read()[:300]!r}")
        self.events: list[Event] = []
        self.ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        fields = {}
        try:
            for raw in iter(self.response.readline, b""):
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith(":"):
                    continue  # a keepalive comment
                if line:
                    key, _, value = line.partition(": ")
                    fields[key] = value
                    continue
                if "event" in fields:
                    with self._changed:
                        self.events.append(Event(int(fields["id"]), fields["event"], json.loads(fields["data"])))
                        self._changed.notify_all()
                fields = {}
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed by the test or the server
        finally:
            with self._changed:
                self.ended = True
                self._changed.notify_all()

    def wait_for(self, predicate, seconds, what="an event") -> Event:
        """The first event (in arrival order) matching `predicate`; fails after `seconds`."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while True:
                found = next((e for e in self.events if predicate(e)), None)
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    kinds = [(e.id, e.type) for e in self.events]
                    raise AssertionError(f"no {what} within {seconds:.0f} s (stream ended: {self.ended}); "
                                         f"got {kinds}")
                self._changed.wait(left)

    def of_type(self, kind) -> list[Event]:
        with self._changed:
            return [e for e in self.events if e.type == kind]

    def close(self):
        """Hang up: the reader thread sees the end of the stream, then the connection closes."""
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self._reader.join(10)
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
