"""The web basics around every request: the client's address through trusted proxies, security
headers on every response, and a same-origin check on every request that changes state.

- `IPDASH_TRUSTED_PROXIES` (default 0): how many reverse proxies in front of the server set
  X-Forwarded-For/-Proto/-Host (werkzeug's ProxyFix trusts exactly that many hops, no more, so a
  client cannot forge its address by sending the header itself).
- flask-talisman sets the headers: a Content-Security-Policy the Dash app runs under (scripts only
  from this site plus the hashes of Dash's own inline scripts; no framing: frame-ancestors
  'none' and X-Frame-Options DENY), X-Content-Type-Options nosniff, Referrer-Policy same-origin,
  HSTS when served over HTTPS.
- A POST, PUT, PATCH or DELETE whose Origin (or, lacking it, Referer) names another site is
  refused with 403 and audited: browsers send Origin with every such request, so a page on another
  site cannot make a signed-in user's browser lock, draw or publish. A request with neither header
  does not come from a browser page and is left to the session check.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import dash
from flask import jsonify, request
from flask_login import current_user
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from access import audit
from access.opstore import OpStore
from core import settings

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def trusted_proxies() -> int:
    """IPDASH_TRUSTED_PROXIES: the number of reverse proxies in front of the server (core/settings.py)."""
    return settings.current().trusted_proxies


def content_security_policy(app: dash.Dash) -> dict[str, str | list[str]]:
    """The policy the Dash app runs under; call once every callback (and inline script) is added."""
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *app.csp_hashes()],
        # Plotly and React set element styles, and Plotly adds <style> elements of its own.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def _origin_of(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    return parts.netloc.lower() if parts.netloc else "-"  # "null" or garbage: never this site


def init_protection(app: dash.Dash, ops: OpStore) -> None:
    """Wrap `app.server` with ProxyFix, security headers and the same-origin check."""
    server = app.server
    hops = trusted_proxies()
    if hops:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    https = settings.current().https
    Talisman(
        server,
        force_https=False,  # TLS ends at the proxy; IPDASH_HTTPS=1 says it does
        strict_transport_security=https,
        session_cookie_secure=https,
        session_cookie_http_only=True,
        frame_options="DENY",
        content_security_policy=content_security_policy(app),
        referrer_policy="same-origin",
        x_content_type_options=True,
    )

    @server.before_request
    def _same_origin():
        if request.method in SAFE_METHODS:
            return None
        origin = _origin_of(request.headers.get("Origin")) or _origin_of(request.headers.get("Referer"))
        if origin is None or origin == request.host.lower():
            return None
        who = current_user.user.username if current_user.is_authenticated else "anonymous"
        audit.record(
            ops,
            actor=who,
            action="request.cross_site_refused",
            target=request.path[:200],
            detail={"origin": origin[:200], "host": request.host[:200], "address": request.remote_addr},
        )
        return jsonify({"error": "跨站请求被拒绝 / a request from another site was refused"}), 403
