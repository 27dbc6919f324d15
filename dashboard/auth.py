"""Login, logout and the one guard in front of every endpoint (SPEC §5).

- flask-login sessions; the session id carries the user's `session_version`, so disabling a user
  or resetting their password ends every session at the next request.
- A `before_request` guard: layouts, callbacks (`/_dash-update-component`), downloads and any API
  answer only a logged-in user; only the login page, static assets and public pages are open.
- Failed logins are throttled per account and per address with flask-limiter; the request over
  the limit is refused before the password is checked.
- Cookies are HttpOnly and SameSite=Lax, Secure when served over HTTPS; the secret key comes from
  the environment or a generated file outside the repository, never from the code.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

import flask
from flask import Flask, jsonify, redirect, render_template_string, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from access import audit
from access.opstore import OpStore
from access.users import ROLES, User, authenticate, get_user_by_id

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
ACCOUNT_LIMIT = "9 per minute"  # the tenth failure in a minute is refused unchecked
ADDRESS_LIMIT = "30 per minute"


class WebUser(UserMixin):
    """The flask-login face of an access.users.User."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.user_id}:{self.user.session_version}"


def secret_key() -> str:
    """$IPDASH_SECRET_KEY, else a key generated once into $IPDASH_SECRET_FILE (default
    ~/.config/ipdash/secret_key, mode 600) — outside the repository."""
    env = os.environ.get("IPDASH_SECRET_KEY")
    if env:
        return env
    path = Path(os.environ.get("IPDASH_SECRET_FILE", Path.home() / ".config" / "ipdash" / "secret_key"))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


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
<button type="submit">登录 Sign in</button>
</form></main></body></html>"""


def _safe_next(target: str | None) -> str:
    """Only a local path: never redirect a user to another site after login."""
    if not target:
        return "/"
    parsed = urlparse(target)
    return target if not parsed.scheme and not parsed.netloc and target.startswith("/") else "/"


def max_request_bytes() -> int:
    """$IPDASH_MAX_REQUEST_MB (default 30) in bytes."""
    try:
        return max(1, int(os.environ.get("IPDASH_MAX_REQUEST_MB", "30"))) << 20
    except ValueError:
        return 30 << 20


def init_auth(server: Flask, ops: OpStore) -> Limiter:
    """Wire login, logout, throttling and the guard into `server`."""
    server.secret_key = secret_key()
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("IPDASH_HTTPS", "") == "1",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
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

    @manager.user_loader
    def _load(user_id: str) -> WebUser | None:
        try:
            uid, version = (int(x) for x in user_id.split(":", 1))
        except ValueError:
            return None
        user = get_user_by_id(ops, uid)
        if user is None or user.disabled or user.session_version != version:
            return None
        return WebUser(user)

    # memory:// counts per worker process; several workers share counts through a storage that
    # flask-limiter supports (e.g. redis://host:6379) named in IPDASH_RATELIMIT_STORAGE.
    limiter = Limiter(
        get_remote_address,
        app=server,
        default_limits=[],
        headers_enabled=True,
        storage_uri=os.environ.get("IPDASH_RATELIMIT_STORAGE", "memory://"),
    )

    def _failed(response: flask.Response) -> bool:
        return response.status_code == 401

    def _account_key() -> str:
        return "account:" + request.form.get("username", "").strip().lower()

    @server.route("/login", methods=["GET", "POST"])
    @limiter.limit(
        ACCOUNT_LIMIT,
        key_func=_account_key,
        deduct_when=_failed,
        methods=["POST"],
        error_message="登录失败次数过多，请一分钟后再试 / too many failed sign-ins; try again in a minute",
    )
    @limiter.limit(
        ADDRESS_LIMIT,
        key_func=get_remote_address,
        deduct_when=_failed,
        methods=["POST"],
        error_message="登录失败次数过多，请一分钟后再试 / too many failed sign-ins; try again in a minute",
    )
    def login():
        nxt = _safe_next(request.values.get("next"))
        if request.method == "GET":
            return render_template_string(LOGIN_PAGE, message=None, next=nxt)
        username = request.form.get("username", "").strip()
        user = authenticate(ops, username, request.form.get("password", ""))
        if user is None:
            audit.record(ops, actor=username or "-", action="login.failed", detail={"address": request.remote_addr})
            page = render_template_string(LOGIN_PAGE, message="用户名或密码错误 / wrong username or password", next=nxt)
            return page, 401
        login_user(WebUser(user))
        audit.record(ops, actor=user.username, action="login", detail={"address": request.remote_addr})
        return redirect(nxt)

    @server.route("/logout")
    def logout():
        if current_user.is_authenticated:
            audit.record(ops, actor=current_user.user.username, action="logout")
        logout_user()
        return redirect("/login")

    @server.before_request
    def _guard():
        path = request.path
        if path.startswith(OPEN_PREFIXES) or current_user.is_authenticated:
            return None
        if path.startswith("/_dash-") or request.is_json or request.method != "GET":
            return jsonify({"error": "login required / 请先登录"}), 401
        return redirect(f"/login?next={path}")

    @server.errorhandler(429)
    def _too_many(err):
        page = render_template_string(LOGIN_PAGE, message=str(err.description), next="/")
        return page, 429

    return limiter


def role_label(role: str) -> str:
    return ROLES.get(role, (role, None))[0]
