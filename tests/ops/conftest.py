import pytest

from marketplace.observability import logs


@pytest.fixture(autouse=True)
def _no_log_handler_left():
    """An app made here with JSON or text logs puts a handler on the root logger: take it
    off again, so later tests' output is pytest's alone."""
    yield
    logs.uninstall()
