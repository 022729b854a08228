"""`flask check-config`: the production settings that are missing or unsafe.

Each check looks at the app's config (what the app will really use) and, for the
process model, the environment gunicorn reads. An *error* is a setting that makes
the site unsafe or broken in production; a *warning* deserves a look but can be right.
"""
import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import DemoConfig, TestConfig

MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "dev", "development", "please-change-me",
                       DemoConfig.SECRET_KEY, TestConfig.SECRET_KEY}


@dataclass(frozen=True)
class Finding:
    level: str  #: "error" or "warning"
    setting: str
    message: str


def error(setting, message):
    return Finding("error", setting, message)


def warning(setting, message):
    return Finding("warning", setting, message)


def web_workers(env) -> int:
    """The gunicorn workers serving pages: WEB_CONCURRENCY, else gunicorn.conf.py's default."""
    try:
        return int(env.get("WEB_CONCURRENCY") or 0) or max(2, os.cpu_count() or 1)
    except ValueError:
        return max(2, os.cpu_count() or 1)


def check_mode(config, env):
    if config.get("DEMO"):
        yield error("MARKETPLACE_CONFIG", "the demo configuration is running: use MARKETPLACE_CONFIG=production")
    if config.get("TESTING"):
        yield error("MARKETPLACE_CONFIG", "the test configuration is running: use MARKETPLACE_CONFIG=production")
    if config.get("DEBUG") or env.get("FLASK_DEBUG", "").lower() in ("1", "true", "yes"):
        yield error("FLASK_DEBUG", "debug mode is on: tracebacks and the debugger are open to visitors")


def check_secret_key(config, env):
    key = config.get("SECRET_KEY") or ""
    if key in PLACEHOLDER_SECRETS:
        yield error("SECRET_KEY", "a published default; anyone can forge sessions. Make one with: "
                                  "python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    elif len(key) < MIN_SECRET_LENGTH or len(set(key)) < 10:
        yield error("SECRET_KEY", f"too short or too simple (use at least {MIN_SECRET_LENGTH} random characters)")


def check_payments(config, env):
    provider = config.get("PAYMENTS_PROVIDER")
    if config.get("DEMO_PAYMENTS_ALLOWED"):
        yield error("DEMO_PAYMENTS_ALLOWED", "test-mode payments are on: anyone can 'pay' without paying")
    if provider == "demo":
        yield error("PAYMENTS_PROVIDER", "demo payments: set STRIPE_SECRET_KEY (or PAYMENTS_PROVIDER=stripe)")
    elif provider == "stripe":
        yield from _check_stripe(config)
    else:
        yield error("PAYMENTS_PROVIDER", f"unknown provider {provider!r}: use stripe")


def _check_stripe(config):
    secret = config.get("STRIPE_SECRET_KEY") or ""
    if not secret:
        yield error("STRIPE_SECRET_KEY", "missing: no payment can be started")
    elif secret.startswith(("sk_test_", "rk_test_")):
        yield warning("STRIPE_SECRET_KEY", "a Stripe test-mode key: no real money moves")
    if not config.get("STRIPE_PUBLISHABLE_KEY"):
        yield error("STRIPE_PUBLISHABLE_KEY", "missing: the pay page cannot load Stripe.js")
    if not config.get("STRIPE_WEBHOOK_SECRET"):
        yield error("STRIPE_WEBHOOK_SECRET", "missing: Stripe's webhooks cannot be verified, so no order "
                                             "is ever marked paid")
    if config.get("STRIPE_API_BASE"):
        yield warning("STRIPE_API_BASE", f"payments go to {config['STRIPE_API_BASE']}, not to Stripe")


def check_database(config, env):
    uri = config.get("SQLALCHEMY_DATABASE_URI") or ""
    if uri.startswith("sqlite"):
        yield error("DATABASE_URL", "SQLite: one host only, and its file is lost with the host; "
                                    "use DATABASE_URL=postgresql://...")


def check_redis(config, env):
    workers = web_workers(env)
    if not config.get("REDIS_URL") and workers > 1:
        yield error("REDIS_URL", f"missing with {workers} web workers: live-room events reach only the viewers "
                                 "of the worker that made them, every worker keeps its own rate limits, and "
                                 "jobs run inside web requests (set REDIS_URL, or WEB_CONCURRENCY=1)")


def check_cookies(config, env):
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if not config.get(name):
            yield error(name, "off: the login cookie also travels over plain HTTP")
    for name in ("SESSION_COOKIE_HTTPONLY", "REMEMBER_COOKIE_HTTPONLY"):
        if not config.get(name):
            yield error(name, "off: scripts on the page can read the login cookie")
    if config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        yield warning("SESSION_COOKIE_SAMESITE", "not Lax or Strict: the cookie goes with cross-site requests")
    if not config.get("HSTS"):
        yield warning("HSTS", "off: browsers may still try plain HTTP first")


def check_urls(config, env):
    base = urlsplit(config.get("BASE_URL") or "")
    if base.scheme != "https":
        yield error("BASE_URL", f"{config.get('BASE_URL')!r}: links in mails must be the public https address")
    elif _is_local(base.hostname):
        yield error("BASE_URL", "a local address: links in mails would not open for anyone else")


def _is_local(host) -> bool:
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_mail(config, env):
    if not config.get("MAIL_URL"):
        yield warning("MAIL_URL", "unset: mail (password resets, order updates) is only written to the log")


def check_storage(config, env):
    bucket = config.get("S3_BUCKET")
    others = [k for k in ("S3_ENDPOINT_URL", "S3_PUBLIC_URL") if config.get(k)]
    if not bucket and others:
        yield error("S3_BUCKET", f"missing while {', '.join(others)} is set: images still go to the local disk")
    keys = [k for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if env.get(k)]
    if bucket and len(keys) == 1:
        yield error("AWS_SECRET_ACCESS_KEY" if keys[0] == "AWS_ACCESS_KEY_ID" else "AWS_ACCESS_KEY_ID",
                    f"missing while {keys[0]} is set: the object store refuses every image")
    if bucket and config.get("S3_ENDPOINT_URL") and not keys and not env.get("AWS_PROFILE"):
        yield warning("AWS_ACCESS_KEY_ID", "no credentials for the S3-compatible store (AWS_ACCESS_KEY_ID, "
                                           "AWS_SECRET_ACCESS_KEY or AWS_PROFILE)")
    public = config.get("S3_PUBLIC_URL")
    if bucket and public and urlsplit(public).scheme != "https":
        yield warning("S3_PUBLIC_URL", "not https: browsers block its images on https pages")
    if not bucket and not others and web_workers(env) > 1:
        yield warning("S3_BUCKET", "unset: images are files under UPLOAD_FOLDER, so every web host needs "
                                   "that same directory")


def check_operations(config, env):
    if not int(config.get("PROXY_FIX") or 0):
        yield warning("PROXY_FIX", "0: behind a reverse proxy every client looks like the proxy (rate limits, "
                                   "audit addresses); set it to the number of proxies")
    if config.get("LOG_FORMAT") != "json":
        yield warning("LOG_FORMAT", "not json: log collectors cannot read the request id and fields")
    open_to_all = any(part.strip() in ("0.0.0.0/0", "::/0") for part in (config.get("METRICS_ALLOW") or "").split(","))
    if open_to_all:
        yield warning("METRICS_ALLOW", "everyone may read /metrics")
    token = config.get("METRICS_TOKEN")
    if token and len(token) < 16:
        yield warning("METRICS_TOKEN", "shorter than 16 characters: easy to guess")


CHECKS = (check_mode, check_secret_key, check_payments, check_database, check_redis, check_cookies, check_urls,
          check_mail, check_storage, check_operations)


def run_all(config, env=None) -> list[Finding]:
    env = os.environ if env is None else env
    findings = [finding for check in CHECKS for finding in check(config, env)]
    return sorted(findings, key=lambda f: f.level != "error")
