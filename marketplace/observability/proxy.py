"""Behind a reverse proxy the socket's peer is the proxy: ProxyFix takes the client's
address, scheme and host from the X-Forwarded-* headers the proxy sets. Only as many
hops as PROXY_FIX says are trusted, so a client cannot forge its address."""
from werkzeug.middleware.proxy_fix import ProxyFix


def trusted_hops(value) -> int:
    """PROXY_FIX as a number of proxies; a clear error at start-up for anything else."""
    try:
        hops = int(value or 0)
    except (TypeError, ValueError):
        raise RuntimeError(f"PROXY_FIX must be the number of reverse proxies in front of the app, "
                           f"not {value!r}") from None
    if not 0 <= hops <= 5:
        raise RuntimeError(f"PROXY_FIX must be between 0 and 5, not {hops}")
    return hops


def install(app):
    hops = trusted_hops(app.config.get("PROXY_FIX"))
    app.config["PROXY_FIX"] = hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops,
                                x_prefix=hops)
