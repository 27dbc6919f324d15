"""The audit page for administrators: the chain's verdict and the latest entries, rendered on the server."""

from __future__ import annotations

from flask import Flask, abort, render_template_string
from flask_login import current_user

from access import audit, policy
from access.opstore import OpStore
from dashboard.audit_words import action_words, detail_words
from dashboard.i18n import when

PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>审计日志 Audit log · ipdash</title>
<link rel="stylesheet" href="/assets/style.css"></head>
<body><div class="page">
<div class="userbar"><a href="/">返回 Back</a>
<form method="post" action="/logout" class="signout"><button type="submit">退出 Sign out</button></form></div>
<h1>审计日志 · Audit log</h1>
{% if verdict.ok %}<p class="banner">哈希链完整 · Hash chain intact: {{ verdict.entries }} entries</p>
{% else %}<p class="error" role="alert">哈希链断裂 · Hash chain BROKEN at entry {{ verdict.first_broken }}:
{{ verdict.problem }}</p>{% endif %}
<table class="audit"><thead><tr><th>#</th><th>时间（北京时间） When (Beijing time)</th><th>用户 Who</th><th>操作 Action</th>
<th>对象 Target</th><th>详情 Detail</th></tr></thead><tbody>
{% for e in entries %}<tr><td>{{ e.seq }}</td><td>{{ when(e.at) }}</td><td>{{ e.actor }}</td><td>{{ action_words(e.action) }}</td>
<td>{{ e.target or "" }}</td><td>{{ detail_words(e.detail) }}</td></tr>{% endfor %}
</tbody></table></div></body></html>"""


def init_audit_page(server: Flask, ops: OpStore) -> None:
    @server.route("/audit")
    def audit_page():
        user = current_user.user  # the guard has already required a login
        if not policy.require(ops, actor=user, action="audit", what="/audit"):
            abort(403)
        return render_template_string(
            PAGE,
            verdict=audit.verify(ops),
            entries=audit.recent(ops, 500),
            when=lambda at: when(at, "zh")[:16],
            action_words=action_words,
            detail_words=detail_words,
        )
