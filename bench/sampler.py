"""A measurement taken every half second on a thread of its own while a `with` block runs:
the shape of the benchmarks' meters (memory, WAL size, ...)."""
import threading


class Sampler:
    """Subclasses define sample(); it runs once on entry, every `interval` seconds, and once
    more on exit, so even a short block has a first and a last reading."""

    interval = 0.5

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        raise NotImplementedError

    def _run(self):
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.sample()
