"""The public page (no login): published inspection results only, from the publication snapshots.

Each publication shows its plan's year and scope by name, the population and the sample of every
office of the population (appraised or not), a partial publication's reason, and — when its draw
was voided afterwards — that it was withdrawn, when and why. The manifest and the population file
of each publication download here, so that anyone can run `ipdash verify-draw` on what is published.
"""

from __future__ import annotations

import datetime as dt
import json

from flask import Flask, Response, abort, render_template_string

from access.opstore import OpStore
from dashboard.i18n import beijing_day, when
from ingest.contract import default_contract
from inspection.plans import resolve_path, valid_plan_id
from inspection.rectification import STATUSES, list_notices
from inspection.results import published, published_version
from queries.statements import op_sql
from queries.store import Store

PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>案卷评查结果公开 · Published inspection results</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><div class="page">
<h1>“双随机、一公开”案卷评查结果 · Published random-inspection results</h1>
{% if not plans %}<p>尚无公开结果 · Nothing has been published yet.</p>{% endif %}
{% for p in plans %}{% set grades = p.grades or three_grades %}<section class="card publication{% if p.versions and p.versions|length > 1 %}{% set last = p.versions[-1] %}<p class="note">更正 · Corrected: 第{{ last.version }}版，{{ last.published_at|beijing }} 发布，取代 {{ last.replaces|beijing }} 发布的版本 · version {{ last.version }} replaces the one published at {{ last.replaces|beijing }}. 理由 Reason: {{ last.reason }}<br>
历次发布（原样保留） · Every version as published:
{% for v in p.versions %}<a href="/public/{{ p.plan_id }}/v{{ v.version }}.json">v{{ v.version }} {{ v.published_at|beijing_day }}</a>{% if not loop.last %} · {% endif %}{% endfor %}</p>{% endif %}
{% if p.withdrawn_at %} withdrawn{% endif %}">
<h2>{{ p.year }} 年度 · {{ p.scope_name or p.scope }}{% if p.title %} · {{ p.title }}{% endif %}</h2>
<p>计划 Plan {{ p.plan_id }} · 抽取 Draw {{ p.draw_id }} · 公开于 Published {{ p.published_at|beijing }} ·
总体 Population {{ "{:,}".format(p.population) }} · 抽取 Sampled {{ "{:,}".format(p.sampled) }} · 已评查 Appraised {{ p.appraised }}</p>
{% if p.withdrawn_at %}<p class="warning">已撤回 · Withdrawn {{ p.withdrawn_at|beijing }}:
{{ p.withdraw_reason }}（抽取已作废 · the draw was voided）</p>{% endif %}
{% if p.partial_reason %}<p class="note">部分公开 · Partial publication: {{ p.unappraised }} 份抽取案卷尚未评查
· {{ p.unappraised }} sampled archives not yet appraised. 理由 Reason: {{ p.partial_reason }}</p>{% endif %}
<p>核验 Verify: <a href="/public/{{ p.plan_id }}/manifest.json">抽取清单 manifest.json</a> ·
<a href="/public/{{ p.plan_id }}/population.csv">总体文件 population.csv</a>
(SHA-256 {{ p.population_sha256 }}) — <code>ipdash verify-draw manifest.json --population population.csv</code></p>
{% if p.audit_anchor %}<p class="note">审计链锚点 Audit chain anchor at publication: #{{ p.audit_anchor.seq }}
<code>{{ p.audit_anchor.hash }}</code> — <code>ipdash audit verify --anchor</code> checks the log still holds it</p>{% endif %}
<table class="audit"><thead><tr><th>机构 Office</th><th>总体 Population</th><th>抽取 Sampled</th><th>已评查 Appraised</th>
<th>平均分 Mean</th>{% for g in grades %}<th>{{ g.zh }} {{ g.en }}</th>{% endfor %}
<th>不合格率 Unqualified rate (95% CI)</th><th>推算不合格（分层，区间≥95%） Projected, stratified (≥95% interval)</th></tr></thead><tbody>
{% for o in p.offices %}<tr><td>{{ o.office_code }} {{ o.name }}</td><td class="num">{{ "{:,}".format(o.population) }}</td><td class="num">{{ o.sampled }}</td>
<td class="num">{{ o.appraised }}</td>
{% if o.appraised %}<td class="num">{{ "%.1f"|format(o.mean_score) }}</td>{% for g in grades %}<td class="num">{{ (o.grades or o)[g.id] }}</td>{% endfor %}
<td>{{ "%.1f%%"|format(o.unqualified_rate * 100) }} ({{ "%.1f"|format(o.interval[0] * 100) }}–{{ "%.1f"|format(o.interval[1] * 100) }}%)</td>
<td class="num">{% if o.projected_unqualified is not none %}{{ "%.1f"|format(o.projected_unqualified) }}{% if o.projected_interval %} ({{ "%.1f"|format(o.projected_interval[0]) }}–{{ "%.1f"|format(o.projected_interval[1]) }}){% endif %}{% elif o.strata_unappraised %}部分层未评查 · strata not yet appraised{% endif %}</td>
{% else %}<td colspan="{{ 3 + grades|length }}">尚未评查 · not yet appraised</td>{% endif %}</tr>{% endfor %}
</tbody></table>
{% if p.items_lost and p.items_lost.scope and p.items_lost.scope[0].archives %}
<h3>失分最多的评查项目 · Where the archives lost points</h3>
<table class="audit"><thead><tr><th>评查项目 Item</th><th>失分合计 Points lost</th><th>失分案卷 Archives that lost points</th>
<th>占该项满分 Share of the item's points</th><th>典型问题（评查人员意见） Typical problems (inspectors' notes)</th></tr></thead><tbody>
{% for e in p.items_lost.scope %}<tr><td>{{ e.zh }} · {{ e.en }}</td><td class="num">{{ "%.1f"|format(e.points) }}</td>
<td class="num">{{ e.with_loss }} / {{ e.archives }}</td><td class="num">{{ "%.1f%%"|format(e.share * 100) }}</td>
<td>{% for n in e.typical or [] %}<div>{{ n.note }}（{{ n.archives }}件 archives，失{{ "%.1f"|format(n.points) }}分 points）</div>{% else %}—{% endfor %}</td></tr>{% endfor %}
</tbody></table>
{% if p.items_lost.provinces|length > 1 %}<h4>各省失分最多的项目 · The item that lost most, by province</h4>
<table class="audit"><thead><tr><th>省份 Province</th><th>评查案卷 Archives</th><th>失分最多的项目 Item</th><th>失分 Points lost</th></tr></thead><tbody>
{% for code, items in p.items_lost.provinces.items() %}<tr><td>{{ (p.province_names or {}).get(code, code) }}</td>
<td class="num">{{ items[0].archives }}</td><td>{% if items[0].points %}{{ items[0].zh }} · {{ items[0].en }}{% else %}无失分 · none{% endif %}</td>
<td class="num">{{ "%.1f"|format(items[0].points) }}</td></tr>{% endfor %}</tbody></table>{% endif %}{% endif %}
{% if p.rectification %}<h3>整改情况 · Rectification</h3>
<p>整改通知 Notices {{ p.rectification.total }}：待整改 open {{ p.rectification.open }} · 已答复待审核 answered {{ p.rectification.responded }}
· 已退回 returned {{ p.rectification.returned }} · 已通过 accepted {{ p.rectification.accepted }}
{% if p.rectification.overdue %}· <strong>逾期 overdue {{ p.rectification.overdue }}</strong>{% endif %}
（截至 as of {{ p.rectification.as_of }}）</p>{% endif %}
</section>{% endfor %}
</div></body></html>"""


def init_public_page(server: Flask, ops: OpStore, store: Store) -> None:
    # recorded UTC times read in Beijing time on the page, in both its languages
    server.jinja_env.filters["beijing"] = lambda iso: f"{when(iso, 'zh')} Beijing time" if iso else "—"
    server.jinja_env.filters["beijing_day"] = lambda iso: beijing_day(iso) if iso else "—"

    def publication(plan_id: str) -> dict:
        if not valid_plan_id(plan_id):
            abort(404)
        found = ops.read(
            op_sql("publications.with_draw"),
            (plan_id,),
        )
        if not found:
            abort(404)
        return dict(found[0])

    @server.route("/public")
    def public_results():
        today = dt.date.today()
        plans = published(ops)
        for p in plans:  # the state of rectification now, beside the snapshot of the results
            notices = list_notices(ops, plan_id=p["plan_id"], as_of=today)
            if notices:
                p["rectification"] = {
                    "total": len(notices),
                    **{s: sum(1 for n in notices if n["status"] == s) for s in STATUSES},
                    "overdue": sum(1 for n in notices if n["overdue"]),
                    "as_of": today.isoformat(),
                }
        # publications made before checklists were configurable carry the three grades of the default
        three = [{"id": g.id, "zh": g.zh, "en": g.en} for g in default_contract().checklist.grades]
        return render_template_string(PAGE, plans=plans, three_grades=three)

    @server.route("/public/<plan_id>/manifest.json")
    def public_manifest(plan_id: str):
        manifest = json.loads(publication(plan_id)["manifest"])
        return Response(
            json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True),
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="{plan_id}-manifest.json"'},
        )

    @server.route("/public/<plan_id>/v<int:version>.json")
    def public_version(plan_id: str, version: int):
        publication(plan_id)  # 404 unless published
        got = published_version(ops, plan_id, version)
        if got is None:
            abort(404)
        return Response(
            json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True),
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="{plan_id}-v{version}.json"'},
        )

    @server.route("/public/<plan_id>/population.csv")
    def public_population(plan_id: str):
        try:
            data = resolve_path(store, publication(plan_id)["population_file"]).read_bytes()
        except OSError:
            abort(404)
        return Response(
            data,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{plan_id}-population.csv"'},
        )
