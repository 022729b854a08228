"""JSON API v1 (see ../shared/API.md). flask-smorest builds the OpenAPI document from
the same marshmallow schemas that validate requests, so the two cannot drift."""
from flask_smorest import Api

from ..extensions import csrf
from .common import ErrorEnvelope


class MarketplaceApi(Api):
    ERROR_SCHEMA = ErrorEnvelope

    def _register_error_handlers(self):
        # web.py renders errors for the whole app: JSON under /api/, HTML elsewhere.
        pass


api = MarketplaceApi()


def init_api(app):
    from . import auth, catalog, cooperatives, households, livestreams, monitoring, orders, webhooks

    api.init_app(app, spec_kwargs={"servers": [{"url": "/"}]})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for module in (auth, catalog, cooperatives, households, livestreams, monitoring, orders, webhooks):
        csrf.exempt(module.blp)  # bearer tokens, never cookies: no CSRF exposure
        api.register_blueprint(module.blp, url_prefix="/api/v1")
