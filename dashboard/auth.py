"""Sign-in, sign-out and the one guard in front of every endpoint (SPEC §5).

- flask-login over server-side sessions (`access.sessions`): the cookie carries a random session
  id and the user's `session_version`; signing out ends the session row at once, and disabling a
  user or resetting their password ends every session of theirs at the next request.
- A `before_request` guard: layouts, callbacks (`/_dash-update-component`), downloads and any API
  answer only a signed-in user; only the sign-in page, static assets and public pages are open.
- Failed sign-ins are throttled (`LoginThrottle`): per account, an attempt is counted before the
  password is checked, so concurrent guesses cannot overrun the limit; per client address (as
  seen through the trusted proxies), failures beyond the limit are answered 429 and audited, but
  a correct password is never refused for an account that is not itself throttled.
- The sign-in form carries a CSRF token (flask-wtf); sign-out is a POST. Cookies are HttpOnly and
  SameSite=Lax, Secure over HTTPS; the secret key comes from the environment or a generated file
  outside the repository, never from the code.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import flask
from flask import Flask, jsonify, redirect, render_template_string, request
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from limits import parse, storage, strategies
from wtforms.validators import ValidationError

from access import audit, sessions
from access.keys import session_key
from access.opstore import OpStore
from access.users import ROLES, User, authenticate
from core import settings

OPEN_PREFIXES = (
    "/login",
    "/logout",
    "/assets/",
    "/_dash-component-suites/",
    "/_favicon.ico",
    "/public",
    "/healthz",
    "/readyz",
)
ACCOUNT_LIMIT = "9 per minute"  # the tenth attempt in a minute after nine failures is refused unchecked
ADDRESS_LIMIT = "30 per minute"
TOO_MANY = "登录失败次数过多，请一分钟后再试 / too many failed sign-ins; try again in a minute"


class WebUser(UserMixin):
    """The flask-login face of an access.users.User in one server-side session."""

    def __init__(self, user: User, session_id: str) -> None:
        self.user = user
        self.session_id = session_id

    def get_id(self) -> str:
        return f"{self.user.user_id}:{self.user.session_version}:{self.session_id}"


class LoginThrottle:
    """Failed sign-ins counted in a moving window (the `limits` library, as flask-limiter uses it),
    in memory (one worker process) or in Redis shared by every worker and host.

    `reserve(account)` counts an attempt before the password is checked and says whether it may
    be checked: counting first is what keeps concurrent guesses within the limit. A successful
    sign-in clears the account's count; `failed_from(address)` counts a failure of the address."""

    def __init__(self, uri: str) -> None:
        self.window = strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))
        self.account, self.address = parse(ACCOUNT_LIMIT), parse(ADDRESS_LIMIT)

    def reserve(self, account: str) -> bool:
        return self.window.hit(self.account, "login-account", account)

    def succeeded(self, account: str) -> None:
        self.window.clear(self.account, "login-account", account)

    def failed_from(self, address: str) -> bool:
        """Count a failure of `address`; False when the address is over its limit."""
        return self.window.hit(self.address, "login-address", address)


LOGIN_PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 Sign in · ipdash</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><main class="login">
<h1>专利行政执法绩效评估与监督<br><small>Patent enforcement assessment and supervision</small></h1>
{% if message %}<p class="error" role="alert">{{ message }}</p>{% endif %}
<form method="post" action="/login">
<label for="username">用户名 Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">密码 Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{{ next }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<button type="submit">登录 Sign in</button>
</form></main></body></html>"""

LOGOUT_PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>退出 Sign out · ipdash</title>
<link rel="stylesheet" href="/assets/style.css"></head>
<body><main class="login"><form method="post" action="/logout">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<button type="submit">退出登录 Sign out</button></form></main></body></html>"""


def safe_next(target: object) -> str:
    """A path of this site to go to after sign-in, else "/": never another site.

    Refused: anything not starting with exactly one "/" (so "//host", "///host" and "////host",
    which browsers read as another site), backslashes (which browsers read as "/"), control
    characters and anything with a scheme or a host. What is kept is the path and query only."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith("//"):
        return "/"
    return urlunsplit(("", "", parts.path, parts.query, "")) or "/"


def max_request_bytes() -> int:
    """IPDASH_MAX_REQUEST_MB in bytes."""
    return settings.current().max_request_mb << 20


def init_auth(server: Flask, ops: OpStore) -> LoginThrottle:
    """Wire sign-in, sign-out, throttling and the guard into `server`."""
    server.secret_key = session_key()
    session_hours = sessions.lifetime()
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.current().https,
        PERMANENT_SESSION_LIFETIME=session_hours,  # the cookie's signature is not accepted longer either
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (pre-sign-in) session cookie
        # Every request body is bounded on the server, whatever the browser was told: an uploaded
        # checklist arrives base64-encoded inside a callback request (4/3 of the file, plus JSON).
        MAX_CONTENT_LENGTH=max_request_bytes(),
    )

    @server.errorhandler(413)
    def _too_large(_exc):
        limit = server.config["MAX_CONTENT_LENGTH"] >> 20
        return flask.jsonify(
            error=f"请求过大（上限 {limit} MB）/ the request is larger than the {limit} MB accepted; "
            "upload a smaller file or load it with `ipdash ingest`"
        ), 413

    manager = LoginManager(server)
    manager.login_view = "login"
    manager.session_protection = None  # the server-side session is the protection

    @manager.user_loader
    def _load(user_id: str) -> WebUser | None:
        parts = user_id.split(":", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            return None
        user = sessions.live_user(ops, int(parts[0]), parts[2])
        if user is None or user.disabled or user.session_version != int(parts[1]):
            return None
        return WebUser(user, parts[2])

    # memory:// counts per worker process; several workers and hosts share counts through Redis
    # (IPDASH_RATELIMIT_STORAGE=redis://host:6379).
    throttle = LoginThrottle(settings.current().ratelimit_storage)

    def page(message: str | None, nxt: str, status: int):
        return render_template_string(LOGIN_PAGE, message=message, next=nxt, csrf_token=generate_csrf()), status

    @server.route("/login", methods=["GET", "POST"])
    def login():
        nxt = safe_next(request.values.get("next"))
        if request.method == "GET":
            return page(None, nxt, 200)
        address = request.remote_addr or "-"
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:  # missing, expired or not this session's token
            audit.record(ops, actor="anonymous", action="login.csrf_refused", detail={"address": address})
            return page("页面已过期，请重新登录 / the sign-in page expired; please sign in again", nxt, 400)
        username = request.form.get("username", "").strip()
        account = username.lower()
        if not throttle.reserve(account):
            audit.record(ops, actor=username or "-", action="login.throttled", detail={"address": address})
            return page(TOO_MANY, nxt, 429)
        user = authenticate(ops, username, request.form.get("password", ""))
        if user is None:
            over = not throttle.failed_from(address)
            audit.record(
                ops,
                actor=username or "-",
                action="login.failed",
                detail={"address": address, **({"address_over_limit": True} if over else {})},
            )
            if over:
                return page(TOO_MANY, nxt, 429)
            return page("用户名或密码错误 / wrong username or password", nxt, 401)
        throttle.succeeded(account)
        flask.session.clear()  # a new session at sign-in: nothing from before carries over
        login_user(WebUser(user, sessions.start(ops, user, address=address)))
        audit.record(ops, actor=user.username, action="login", detail={"address": address})
        return redirect(nxt)

    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        if request.method == "GET":  # an old link: ask, since signing out is a POST
            return render_template_string(LOGOUT_PAGE, csrf_token=generate_csrf())
        if current_user.is_authenticated:
            sessions.end(ops, current_user.session_id)
            audit.record(ops, actor=current_user.user.username, action="logout")
        logout_user()
        flask.session.clear()
        return redirect("/login")

    @server.before_request
    def _guard():
        path = request.path
        if path.startswith(OPEN_PREFIXES) or current_user.is_authenticated:
            return None
        if path.startswith("/_dash-") or request.is_json or request.method != "GET":
            return jsonify({"error": "login required / 请先登录"}), 401
        return redirect(f"/login?next={path}")

    return throttle


def role_label(role: str) -> str:
    return ROLES.get(role, (role, None))[0]
