"""The live benchmark on SQLite: the same data, copied from its PostgreSQL source, and
what the SQLite file does while thousands of event streams read it.

The app's gunicorn processes (gevent event streams, gthread pages) share one SQLite file
in WAL mode (marketplace/core/db.py). WAL lets readers and the one writer work together,
but a read transaction left open pins the snapshot it began on: no checkpoint can then
copy the frames after it back into the database, and the WAL file grows with every
write for as long as the reader stays. So a SQLite round samples the WAL file's size
and, while the crowd still watches, asks for a PASSIVE checkpoint (it never waits): if
every frame can be checkpointed, no stream holds an old snapshot.
"""
import os
import sqlite3

from . import live_seed, sqlite_copy
from .machine import facts as machine_facts
from .sampler import Sampler


def prepare(url, source_url, shows, buyers, quota, log=print):
    """Seed the PostgreSQL source as a PostgreSQL run would, then copy it into the SQLite
    file at `url` (always afresh: the sales of a run change its rows). Returns (world, counts)."""
    log(f"seeding the source {source_url} ({shows} live shows, {buyers} buyers) ...")
    world = live_seed.seed(source_url, shows, buyers, quota)
    counts = sqlite_copy.copy(source_url, url, reuse=False, log=log)
    return world, counts


def wal_path(url) -> str:
    return sqlite_copy.sqlite_path(url) + "-wal"


def wal_bytes(url) -> int:
    try:
        return os.path.getsize(wal_path(url))
    except OSError:
        return 0


def checkpoint_probe(url) -> dict:
    """PRAGMA wal_checkpoint(PASSIVE) from a connection of our own: frames in the WAL,
    frames checkpointed; `pinned` frames could not be, because a reader's snapshot is older."""
    conn = sqlite3.connect(sqlite_copy.sqlite_path(url), timeout=5)
    try:
        busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        conn.close()
    return {"busy": busy, "frames": frames, "checkpointed": done, "pinned": max(frames - done, 0),
            "wal_bytes": wal_bytes(url)}


class WalMeter(Sampler):
    """Samples the WAL file's size every 0.5 s; keeps the first, the peak and the last."""

    def __init__(self, url):
        super().__init__()
        self.url, self.samples = url, []

    def sample(self):
        self.samples.append(wal_bytes(self.url))

    def summary(self) -> dict:
        s = self.samples or [0]
        return {"first_bytes": s[0], "peak_bytes": max(s), "last_bytes": s[-1], "samples": len(s)}


def facts(url, source_url) -> dict:
    """The machine's facts, with SQLite's version and settings in place of PostgreSQL's."""
    out = {k: v for k, v in machine_facts(source_url).items() if not k.startswith("PostgreSQL")}
    conn = sqlite3.connect(sqlite_copy.sqlite_path(url))
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        autocheckpoint = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    finally:
        conn.close()
    out["SQLite"] = sqlite3.sqlite_version
    out["SQLite settings"] = (f"journal_mode={mode}, wal_autocheckpoint={autocheckpoint} pages, busy_timeout=30000 ms "
                              "and BEGIN IMMEDIATE for writing requests (marketplace/core/db.py)")
    path = sqlite_copy.sqlite_path(url)
    out["SQLite file"] = f"{path} ({os.path.getsize(path) / 2**20:.1f} MB)"
    return out
