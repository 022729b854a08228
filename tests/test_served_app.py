"""The app as a server's worker builds it (`gunicorn wsgi:app`)."""
import gc
import os
import subprocess
import sys

import marketplace


def test_a_served_app_freezes_its_startup_objects_out_of_full_collections(monkeypatch):
    """Each full collection would otherwise walk every route, template and mapper the app
    holds, stalling the worker's requests (~50 ms a time measured by the flash-sale
    benchmark); frozen objects are skipped."""
    built = object()
    monkeypatch.setattr(marketplace, "create_app", lambda *args, **kwargs: built)
    before = gc.get_freeze_count()
    try:
        assert marketplace.create_served_app("production") is built
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_gunicorn_s_entry_point_serves_the_frozen_app(tmp_path):
    env = {**os.environ, "MARKETPLACE_CONFIG": "demo", "SECRET_KEY": "test",
           "DATABASE_URL": f"sqlite:///{tmp_path}/served.db", "REDIS_URL": ""}
    frozen = subprocess.run([sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
                            cwd=marketplace.ROOT, env=env, capture_output=True, text=True, check=True)
    assert int(frozen.stdout.split()[-1]) > 10_000  # (the app's objects, not a handful)
