"""`flask check-config`: every missing or unsafe production setting is named, and errors
fail the command (a deploy pipeline stops on them)."""
import pytest

from marketplace.ops import checks
from marketplace.ops.cli import check_config_cli

#: a production configuration with nothing to complain about
GOOD = {
    "SECRET_KEY": "kU3v9Q-7rXb2LmN8pZt4WcY6hJd1SfGa0EoRi5Vx", "SQLALCHEMY_DATABASE_URI":
    "postgresql+psycopg://market@db.internal/market", "REDIS_URL": "redis://127.0.0.1:6379/8",
    "PAYMENTS_PROVIDER": "stripe", "STRIPE_SECRET_KEY": "sk_live_51abc", "STRIPE_PUBLISHABLE_KEY": "pk_live_51abc",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc", "BASE_URL": "https://market.example.org",
    "MAIL_URL": "smtp://mailer:pw@smtp.example.org:587", "PROXY_FIX": "1", "S3_BUCKET": "market-images",
}
GOOD_ENV = {"WEB_CONCURRENCY": "4", "AWS_ACCESS_KEY_ID": "AKIA0000", "AWS_SECRET_ACCESS_KEY": "x" * 40}


def production_config(**changes) -> dict:
    from marketplace.config import ProductionConfig

    base = {k: getattr(ProductionConfig, k) for k in dir(ProductionConfig) if k.isupper()}
    return {**base, **GOOD, **changes}


def findings(env=None, **changes) -> dict[str, str]:
    """{setting: level} of what the checks report."""
    found = checks.run_all(production_config(**changes), {**GOOD_ENV, **(env or {})})
    return {f.setting: f.level for f in found}


def test_a_sound_production_configuration_passes():
    assert findings() == {}


@pytest.mark.parametrize("changes,setting", [
    ({"DEMO_PAYMENTS_ALLOWED": True}, "DEMO_PAYMENTS_ALLOWED"),
    ({"PAYMENTS_PROVIDER": "demo"}, "PAYMENTS_PROVIDER"),
    ({"PAYMENTS_PROVIDER": "paypal"}, "PAYMENTS_PROVIDER"),
    ({"SECRET_KEY": "demo-only-secret-key-not-for-production"}, "SECRET_KEY"),
    ({"SECRET_KEY": "changeme"}, "SECRET_KEY"),
    ({"SECRET_KEY": "short-key-0123"}, "SECRET_KEY"),
    ({"SECRET_KEY": "a" * 64}, "SECRET_KEY"),
    ({"DEBUG": True}, "FLASK_DEBUG"),
    ({"DEMO": True}, "MARKETPLACE_CONFIG"),
    ({"TESTING": True}, "MARKETPLACE_CONFIG"),
    ({"SQLALCHEMY_DATABASE_URI": "sqlite:////srv/market/instance/marketplace.db"}, "DATABASE_URL"),
    ({"REDIS_URL": None}, "REDIS_URL"),
    ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE"),
    ({"REMEMBER_COOKIE_SECURE": False}, "REMEMBER_COOKIE_SECURE"),
    ({"SESSION_COOKIE_HTTPONLY": False}, "SESSION_COOKIE_HTTPONLY"),
    ({"STRIPE_SECRET_KEY": None}, "STRIPE_SECRET_KEY"),
    ({"STRIPE_PUBLISHABLE_KEY": None}, "STRIPE_PUBLISHABLE_KEY"),
    ({"STRIPE_WEBHOOK_SECRET": None}, "STRIPE_WEBHOOK_SECRET"),
    ({"BASE_URL": "http://market.example.org"}, "BASE_URL"),
    ({"BASE_URL": "https://127.0.0.1:5000"}, "BASE_URL"),
    ({"S3_BUCKET": None, "S3_ENDPOINT_URL": "https://minio.internal:9000"}, "S3_BUCKET"),
])
def test_each_unsafe_setting_is_an_error(changes, setting):
    assert findings(**changes) == {setting: "error"}


@pytest.mark.parametrize("env,setting", [
    ({"FLASK_DEBUG": "1"}, "FLASK_DEBUG"),
    ({"AWS_SECRET_ACCESS_KEY": ""}, "AWS_SECRET_ACCESS_KEY"),
])
def test_unsafe_environment_is_an_error(env, setting):
    assert findings(env=env) == {setting: "error"}


def test_one_worker_may_run_without_redis():
    assert findings(env={"WEB_CONCURRENCY": "1"}, REDIS_URL=None) == {}


@pytest.mark.parametrize("changes,setting", [
    ({"STRIPE_SECRET_KEY": "sk_test_51abc"}, "STRIPE_SECRET_KEY"),
    ({"STRIPE_API_BASE": "http://127.0.0.1:8420"}, "STRIPE_API_BASE"),
    ({"MAIL_URL": None}, "MAIL_URL"),
    ({"PROXY_FIX": 0}, "PROXY_FIX"),
    ({"LOG_FORMAT": "text"}, "LOG_FORMAT"),
    ({"HSTS": False}, "HSTS"),
    ({"SESSION_COOKIE_SAMESITE": None}, "SESSION_COOKIE_SAMESITE"),
    ({"METRICS_ALLOW": "0.0.0.0/0"}, "METRICS_ALLOW"),
    ({"METRICS_TOKEN": "abc"}, "METRICS_TOKEN"),
    ({"S3_BUCKET": None}, "S3_BUCKET"),
    ({"S3_PUBLIC_URL": "http://cdn.example.org"}, "S3_PUBLIC_URL"),
])
def test_doubtful_settings_are_warnings(changes, setting):
    assert findings(**changes) == {setting: "warning"}


def check_config(app, *args):
    with app.app_context():  # over the test app's own context
        return app.test_cli_runner().invoke(check_config_cli, list(args))


def test_the_command_lists_errors_first_and_fails_on_them(app_factory, app):
    unsafe = app_factory(SECRET_KEY="test-secret-key", SESSION_COOKIE_SECURE=False, HSTS=False)
    result = check_config(unsafe)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("ERROR") and any(line.startswith("WARNING") for line in lines)
    assert any("SECRET_KEY" in line and "published default" in line for line in lines)
    assert any(line.startswith("ERROR") and "SESSION_COOKIE_SECURE" in line for line in lines)
    assert "error(s)" in lines[-1]


def test_the_command_passes_a_sound_configuration_and_strict_fails_on_warnings(app_factory, app, monkeypatch):
    for name, value in GOOD_ENV.items():
        monkeypatch.setenv(name, value)
    sound = app_factory(**production_config(MAIL_URL=None, TESTING=False))
    result = check_config(sound)
    assert result.exit_code == 0, result.output
    assert "0 error(s), 1 warning(s)." in result.output and "MAIL_URL" in result.output
    assert check_config(sound, "--strict").exit_code == 1
