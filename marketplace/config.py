"""Configuration classes. Secrets come only from the environment.

`create_app(name)` picks one by name: "production" (the default for wsgi.py),
"demo" (the Quick start), "test". Unset environment variables mean the embedded
default: SQLite under instance/, in-process rate limits, mail printed to the log.
"""
import os
from datetime import timedelta


def _env(name, default=None):
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def from_environment(config_class) -> dict:
    """Settings read from the environment when the app is created (not at import),
    so a process started with new variables picks them up."""
    if config_class is TestConfig:
        return {"SQLALCHEMY_DATABASE_URI": _env("TEST_DATABASE_URL")}
    redis_url = _env("REDIS_URL")
    values = {
        "SECRET_KEY": _env("SECRET_KEY", config_class.SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": _env("DATABASE_URL"),  # None -> SQLite in instance/
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "inline-memory://",  # core/rate_limit_storage.py
        "BASE_URL": _env("BASE_URL", "http://127.0.0.1:" + _env("PORT", "5000")),
        "MAIL_URL": _env("MAIL_URL"),
        "MAIL_FROM": _env("MAIL_FROM", "noreply@marketplace.example"),
        "PAYMENTS_PROVIDER": _env("PAYMENTS_PROVIDER", "stripe" if _env("STRIPE_SECRET_KEY") else "demo"),
        "STRIPE_SECRET_KEY": _env("STRIPE_SECRET_KEY"),
        "STRIPE_PUBLISHABLE_KEY": _env("STRIPE_PUBLISHABLE_KEY"),
        "STRIPE_WEBHOOK_SECRET": _env("STRIPE_WEBHOOK_SECRET"),
        "STRIPE_API_BASE": _env("STRIPE_API_BASE"),
        # monitoring rules (marketplace/monitoring/scan.py, cases.py)
        "MONITORING_DROP_PCT": int(_env("MONITORING_DROP_PCT", config_class.MONITORING_DROP_PCT)),
        "CASE_MEASURE_DAYS": int(_env("CASE_MEASURE_DAYS", config_class.CASE_MEASURE_DAYS)),
        # object storage (marketplace/core/storage.py); credentials: the usual AWS_* variables
        "S3_BUCKET": _env("S3_BUCKET"),
        "S3_ENDPOINT_URL": _env("S3_ENDPOINT_URL"),
        "S3_PUBLIC_URL": _env("S3_PUBLIC_URL"),
        "S3_PRESIGN_SECONDS": int(_env("S3_PRESIGN_SECONDS", config_class.S3_PRESIGN_SECONDS)),
        # operations (marketplace/observability): logs, reverse proxy, /metrics
        "LOG_FORMAT": _env("LOG_FORMAT", config_class.LOG_FORMAT),
        "LOG_LEVEL": _env("LOG_LEVEL", config_class.LOG_LEVEL),
        "PROXY_FIX": _env("PROXY_FIX", config_class.PROXY_FIX),
        "METRICS_TOKEN": _env("METRICS_TOKEN"),
        "METRICS_ALLOW": _env("METRICS_ALLOW", config_class.METRICS_ALLOW),
    }
    return values


class BaseConfig:
    SECRET_KEY = None  # from the environment; required outside demo and tests
    SQLALCHEMY_DATABASE_URI = None
    REDIS_URL = None
    RATELIMIT_STORAGE_URI = "inline-memory://"
    MAIL_URL = None  # smtp://user:pass@host:port ; None -> mail is printed to the log
    MAIL_FROM = "noreply@marketplace.example"
    BASE_URL = "http://127.0.0.1:5000"  #: where the site is reached; for links in mails
    PAYMENTS_PROVIDER = "demo"
    DEMO_PAYMENTS_ALLOWED = True  #: the demo provider; never in production
    STRIPE_SECRET_KEY = STRIPE_PUBLISHABLE_KEY = STRIPE_WEBHOOK_SECRET = STRIPE_API_BASE = None
    RESERVATION_MINUTES = 15
    REMINDER_LEAD_MINUTES = 30  #: "starting soon" mails go out this long before a show
    CHAT_RATE_LIMIT = "20 per minute"
    MONITORING_DROP_PCT = 30  #: income in the last 3 months this much below the 3 before opens a case
    CASE_MEASURE_DAYS = 30  #: an assistance measure is due this many days after a case opens
    #: no pool_pre_ping: a connection is pinged before use only after DB_PING_AFTER_IDLE_SECONDS
    #: idle in the pool (core/pool_ping.py), not on every request
    SQLALCHEMY_ENGINE_OPTIONS = {}
    DB_PING_AFTER_IDLE_SECONDS = 1.0
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024  #: bytes; larger requests get 413
    MAX_IMAGE_BYTES = 10 * 1024 * 1024
    MAX_IMAGE_PIXELS = 40_000_000  #: larger images are refused as decompression bombs
    MAX_PRODUCT_IMAGES = 8
    UPLOAD_FOLDER = None  # None -> instance/uploads
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    RATELIMIT_HEADERS_ENABLED = True
    #: Redis unreachable: each process counts limits on its own instead of failing the request
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute; 50 per hour"
    SIGNUP_RATE_LIMIT = "5 per minute; 30 per hour"
    CHECKOUT_RATE_LIMIT = "30 per minute"
    LOGIN_LOCKOUT_FAILURES = 10  #: failed logins in a row before a temporary lock
    LOGIN_LOCKOUT_MINUTES = 15
    PASSWORD_HASH_METHOD = "scrypt"
    API_TOKEN_TTL = timedelta(days=30)
    PASSWORD_RESET_TTL = timedelta(hours=1)
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    CATALOG_PAGE_SIZE = 24
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # flask-smorest: the served OpenAPI document lives at /api/v1/openapi.json
    API_TITLE = "Rural Cooperatives Marketplace API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    HSTS = False
    DEMO = False
    S3_BUCKET = None  #: set: images go to this S3-compatible bucket instead of UPLOAD_FOLDER
    S3_ENDPOINT_URL = None  #: e.g. https://minio.internal:9000; None: AWS S3
    S3_PUBLIC_URL = None  #: the bucket's public base URL (CDN); None: pages link presigned URLs
    S3_PRESIGN_SECONDS = 3600  #: how long a presigned image link in a page stays valid
    LOG_FORMAT = "text"  #: "json": one JSON object a line on stderr (production); "text": for people
    LOG_LEVEL = "INFO"
    PROXY_FIX = 0  #: how many reverse proxies set X-Forwarded-*; 0: trust none (no proxy)
    METRICS_TOKEN = None  #: a scraper sending "Authorization: Bearer <token>" may read /metrics
    METRICS_ALLOW = "127.0.0.1/32,::1/128"  #: networks (comma-separated) that may read /metrics


class ProductionConfig(BaseConfig):
    DEMO_PAYMENTS_ALLOWED = False
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    HSTS = True
    PREFERRED_URL_SCHEME = "https"
    LOG_FORMAT = "json"


class DemoConfig(BaseConfig):
    SECRET_KEY = "demo-only-secret-key-not-for-production"  # unless SECRET_KEY is set
    DEMO = True


class TestConfig(BaseConfig):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    RATELIMIT_STORAGE_URI = "inline-memory://"
    CHECKOUT_RATE_LIMIT = "10000 per minute"  # the concurrency tests fire many from one address
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # tests only: hashing speed is not under test
    PAYMENTS_PROVIDER = "demo"
    BASE_URL = "http://localhost"
    DEMO = True


CONFIGS = {"production": ProductionConfig, "demo": DemoConfig, "test": TestConfig}
