"""The public page (no login): published inspection results only, from the publication snapshots."""

from __future__ import annotations

from flask import Flask, render_template_string

from access.opstore import OpStore
from inspection.results import published

PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>案卷评查结果公开 · Published inspection results</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><div class="page">
<h1>“双随机、一公开”案卷评查结果 · Published random-inspection results</h1>
{% if not plans %}<p>尚无公开结果 · Nothing has been published yet.</p>{% endif %}
{% for p in plans %}
<h2>{{ p.plan_id }} · {{ p.year }} · 抽取 draw {{ p.draw_id }} · 公开于 published {{ p.published_at }}</h2>
<table class="audit"><thead><tr><th>机构 Office</th><th>抽取 Sampled</th><th>已评查 Appraised</th>
<th>平均分 Mean</th><th>优秀 Excellent</th><th>合格 Qualified</th><th>不合格 Unqualified</th>
<th>不合格率 Unqualified rate (95% CI)</th><th>推算不合格 Projected</th></tr></thead><tbody>
{% for o in p.offices %}<tr><td>{{ o.office_code }} {{ o.name }}</td><td>{{ o.sampled }}</td><td>{{ o.appraised }}</td>
<td>{{ "%.1f"|format(o.mean_score) }}</td><td>{{ o.excellent }}</td><td>{{ o.qualified }}</td><td>{{ o.unqualified }}</td>
<td>{{ "%.1f%%"|format(o.unqualified_rate * 100) }} ({{ "%.1f"|format(o.interval[0] * 100) }}–{{ "%.1f"|format(o.interval[1] * 100) }}%)</td>
<td>{{ o.projected_unqualified if o.projected_unqualified is not none else "" }}</td></tr>{% endfor %}
</tbody></table>{% endfor %}
</div></body></html>"""


def init_public_page(server: Flask, ops: OpStore) -> None:
    @server.route("/public")
    def public_results():
        return render_template_string(PAGE, plans=published(ops))
