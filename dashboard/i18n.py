"""Every label of the dashboard in Chinese and English, and the number formats of each language.

Labels are data: one table of key -> (Chinese, English). `t(key, lang)` looks one up and fails
loudly on an unknown key (a test renders every page in both languages).
"""

from __future__ import annotations

import datetime as dt

from dashboard.labels_assessment import ASSESSMENT_LABELS
from dashboard.labels_inspection import INSPECTION_LABELS
from dashboard.labels_notify import NOTIFY_LABELS
from dashboard.labels_rectification import RECTIFICATION_LABELS
from dashboard.labels_supervision import SUPERVISION_LABELS
from dashboard.labels_visits import VISIT_LABELS
from reports.labels import LABELS as _BOOK

LANGS = ("zh", "en")

LABELS: dict[str, tuple[str, str]] = {
    "title": ("专利行政执法绩效评估与监督", "Patent enforcement assessment and supervision"),
    "nav.overview": ("总览", "Overview"),
    "nav.monitor": ("过程监控", "Monitoring"),
    "nav.cases": ("案件查询", "Case explorer"),
    "nav.methodology": ("评估方法", "Methodology"),
    "nav.report": ("年度报告", "Annual report"),
    "nav.archives": ("我的评查案卷", "My archives"),
    "nav.inspection": ("随机抽查", "Inspection"),
    "nav.audit": ("审计日志", "Audit log"),
    "nav.public": ("公开结果", "Published results"),
    "nav.logout": ("退出", "Sign out"),
    "ctl.year": ("年度", "Year"),
    "ctl.as_of": ("截至日期", "As of"),
    "ctl.method": ("标准化方法", "Scoring method"),
    "ctl.peer": ("比较范围", "Peer group"),
    "ctl.lang": ("语言", "Language"),
    "ctl.palette": ("配色", "Palette"),
    "ctl.weights": ("维度权重（模拟，不保存）", "Dimension weights (what-if, not saved)"),
    "ctl.reset": ("恢复默认", "Reset"),
    "peer.siblings": ("同级下属机构之间", "Among the offices shown"),
    "peer.configured": ("配置的同级组", "Configured peer groups"),
    "method.minmax": ("最小-最大", "Min–max"),
    "method.zscore": ("Z 分数", "Z-score"),
    "method.percentile": ("百分位", "Percentile"),
    "method.target": ("目标距离", "Distance to target"),
    "palette.viridis": ("Viridis（色盲友好）", "Viridis (colour-blind safe)"),
    "palette.cividis": ("Cividis（色盲友好）", "Cividis (colour-blind safe)"),
    "palette.okabe": ("Okabe–Ito 分类色", "Okabe–Ito categorical"),
    "level.national": ("国家", "National"),
    "level.provincial": ("省级", "Provincial"),
    "level.prefecture": ("地市级", "Prefecture"),
    "level.county": ("县级", "County"),
    "h.accepted": ("立案", "Accepted"),
    "h.closed": ("结案", "Closed"),
    "h.on_time_rate": ("按期结案率", "Closed on time"),
    "h.open_cases": ("未结案件", "Open cases"),
    "h.overdue": ("超期未结", "Overdue"),
    "h.appraised": ("已评查案卷", "Archives appraised"),
    "h.vs_last_year": ("较上年", "vs last year"),
    "rank.title": ("下级机构排名", "Ranking of the offices below"),
    "table.csv": ("导出 CSV", "Export CSV"),
    # a drop-down list's own words (Dash's Dropdown `labels`)
    "dd.select_all": ("全选", "Select all"),
    "dd.deselect_all": ("全部取消", "Deselect all"),
    "dd.selected_count": ("已选 {num_selected} 项", "{num_selected} selected"),
    "dd.search": ("搜索", "Search"),
    "dd.clear_search": ("清除搜索", "Clear search"),
    "dd.clear_selection": ("清除所选", "Clear selection"),
    "dd.no_options_found": ("没有匹配的选项", "No matching options"),
    "table.xlsx": ("导出 Excel", "Export Excel"),
    "rank.of_head": ("参与排名机构数", "Offices ranked"),
    "rank.low": ("排名区间下限", "Rank interval, low"),
    "rank.high": ("排名区间上限", "Rank interval, high"),
    "rank.of": ("{rank} / {n}", "{rank} of {n}"),
    "what.banner": ("模拟视图，不是正式结果：", "What-if view, not the official result: "),
    "what.method": ("标准化方法为{chosen}（正式：{official}）", "scoring method {chosen} (official: {official})"),
    "what.weights": ("维度权重为 {chosen}（正式：{official}）", "dimension weights {chosen} (official: {official})"),
    "what.as_of": (
        "未结案件按 {chosen} 判断（正式：12 月 31 日）",
        "open cases judged on {chosen} (official: 31 December)",
    ),
    "what.workbook_official": (
        "年度报告工作簿始终采用正式设置（不含页面上的模拟设置）：{settings}",
        "The annual workbook always uses the official settings, not the page's what-if ones: {settings}",
    ),
    "what.weights_word": ("维度权重", "dimension weights"),
    "what.year_end": ("未结案件按 12 月 31 日判断", "open cases judged on 31 December"),
    "asof.outside": (
        "截至日期 {day} 不在 {year} 年内：请选择 {year}-01-01 至 {year}-12-31 之间的日期，或清空它（即 12 月 31 日）。",
        "The as-of date {day} is not in {year}: choose a date from {year}-01-01 to {year}-12-31, or clear it "
        "(31 December).",
    ),
    "profile.this_office": ("本单位", "This office"),
    "nav.compare": ("对比", "Compare"),
    "cmp.title": ("机构对比", "Offices side by side"),
    "cmp.hint": (
        "选择至多 {most} 个机构并排比较；所选机构写在网址中，可分享",
        "Choose up to {most} offices to compare; the choice is kept in the address, to share",
    ),
    "cmp.other_level": (
        "与第一个机构层级不同，未并列：{codes}",
        "Of another level than the first, not compared: {codes}",
    ),
    "cmp.row": ("项目", "Item"),
    "cmp.dimensions": ("各维度得分对比", "Dimension scores side by side"),
    "stand.title": ("我在哪里，为什么", "Where we stand, and why"),
    "stand.rank_nation": (
        "在全国 {n} 个{level}知识产权局中排第 {rank} 位",
        "Ranked {rank} of {n} {level} offices nationwide",
    ),
    "stand.rank_group": (
        "在{group}的 {n} 个{level}知识产权局中排第 {rank} 位",
        "Ranked {rank} of {n} {level} offices in {group}",
    ),
    "rank.among_nation": (
        "名次为在全国{level}知识产权局中的排名（共 {n} 个参与排名）",
        "Ranks within the {level} offices nationwide ({n} ranked)",
    ),
    "rank.among_group": (
        "名次为在{group}所辖{level}知识产权局中的排名（共 {n} 个参与排名）",
        "Ranks within the {level} offices of {group} ({n} ranked)",
    ),
    "stand.unranked": ("本年度案件不足，未参与排名", "Not ranked this year: too few cases"),
    "stand.interval": (
        "排名区间第 {lo}–{hi} 位：权重和标准化方法在合理范围内变动时，九成的模拟排名落在这一区间",
        "Rank interval {lo}–{hi}: with the weights and the scoring method varied within reason, nine in ten "
        "simulated ranks fall in this range",
    ),
    "stand.interval_tight": (
        "排名稳定：权重和标准化方法在合理范围内变动时，九成的模拟排名都是第 {lo} 位",
        "A steady rank: with the weights and the scoring method varied within reason, nine in ten simulated ranks "
        "are {lo}",
    ),
    "stand.up": ("比上年上升 {n} 位", "up {n} on last year"),
    "stand.down": ("比上年下降 {n} 位", "down {n} on last year"),
    "stand.same": ("与上年名次相同", "the same place as last year"),
    "stand.no_change": ("上年无可比排名", "no comparable rank last year"),
    "stand.weakest": ("与同级中位数差距最大的指标", "Furthest below the peers' median"),
    "stand.weak_line": ("{name}：本单位 {value}，同级中位数 {median}", "{name}: {value} here, peers' median {median}"),
    "stand.none_weak": ("没有低于同级中位数的指标", "No indicator below the peers' median"),
    "stand.open": ("超期与临期未结案件分布（截至 {as_of}）", "Overdue and near-deadline open cases (as of {as_of})"),
    "stand.open_none": (
        "截至 {as_of} 没有超期或临期的未结案件",
        "No overdue or near-deadline open cases as of {as_of}",
    ),
    "stand.to_monitor": ("查看全部未结案件 ›", "All open cases ›"),
    "stand.own": ("本级", "This office"),
    "stand.more": (
        "案件最多的 {shown} 个（共 {n} 个机构有超期或临期案件）",
        "The {shown} with most ({n} offices have some)",
    ),
    "rank.peers_only": ("仅显示公开排名行", "Published ranking rows only"),
    "col.rank": ("排名", "Rank"),
    "col.interval": ("排名区间 (5%–95%)", "Rank interval (5th–95th)"),
    "col.office": ("机构", "Office"),
    "col.code": ("代码", "Code"),
    "col.composite": ("综合得分", "Composite"),
    "col.change": ("名次变化", "Rank change"),
    "col.profile": ("详情", "Profile"),
    "map.title": ("各省得分分布图", "Provinces by score"),
    "trend.title": ("近五年综合得分分布", "Composites over five years"),
    "dist.title": ("综合得分分布", "Distribution of composites"),
    "denied": (
        "无权查看该机构，或机构不存在。此次访问已记录。",
        "You may not see this office, or it does not exist. The attempt has been logged.",
    ),
    "not_ranked": ("该机构本年度无综合得分（数据不足）", "No composite this year (insufficient data)"),
    "profile.title": ("机构详情", "Office profile"),
    "profile.indicators": ("指标", "Indicators"),
    "profile.dims": ("维度得分与同级中位数", "Dimension scores against the peer median"),
    "profile.trend": ("综合得分趋势", "Composite over the years"),
    "profile.sensitivity": (
        "排名敏感性：去掉某一指标或更换方法后的名次",
        "What drives the rank: rank without each indicator and under each method",
    ),
    "profile.signals": ("诚信信号（与同级中位数比较）", "Integrity signals (against the peer median)"),
    "profile.inspections": ("评查历史", "Inspection history"),
    "profile.peers": ("同级机构数", "Peers"),
    "profile.cases": ("查看该机构案件", "Cases of this office"),
    "profile.monitor": ("查看未结案件", "Open cases"),
    "ind.id": ("编号", "ID"),
    "ind.name": ("指标", "Indicator"),
    "ind.value": ("值", "Value"),
    "ind.num": ("分子", "Numerator"),
    "ind.den": ("分母", "Denominator"),
    "ind.median": ("同级中位数", "Peer median"),
    "ind.score": ("得分", "Score"),
    "ind.insufficient": ("数据不足", "insufficient data"),
    "ind.dimension": ("维度", "Dimension"),
    "ind.formula": ("计算方法", "Formula"),
    "ind.weight": ("权重", "Weight"),
    "ind.direction": ("方向", "Direction"),
    "dir.higher": ("越高越好", "higher is better"),
    "dir.lower": ("越低越好", "lower is better"),
    "sig.disposition_days": ("处置时间（天）", "Disposition time (days)"),
    "sens.without": ("去掉该指标", "Without"),
    "sens.method": ("方法", "Method"),
    "insp.year": ("年度", "Year"),
    "insp.appraised": ("评查数", "Appraised"),
    "insp.unqualified": ("不合格", "Unqualified"),
    "insp.rate": ("不合格率 (95% 区间)", "Unqualified rate (95% CI)"),
    "insp.mean": ("平均分", "Mean score"),
    "mon.title": ("未结案件监控", "Open cases"),
    "mon.status": ("状态", "Status"),
    "mon.overdue": ("超期", "Overdue"),
    "mon.warning": ("预警（已用时限 80%）", "Warning (80% of limit used)"),
    "mon.ok": ("正常", "On track"),
    "mon.no_limit": ("无时限", "No time limit"),
    "mon.backlog": ("待立案积压", "Acceptance backlog"),
    "mon.oldest": ("最久（天）", "Oldest (days)"),
    "mon.ages": ("未结案件案龄", "Age of open cases"),
    "mon.export": ("导出 CSV", "Export CSV"),
    "mon.filter": ("状态筛选", "Status filter"),
    "mon.all": ("全部", "All"),
    "mon.shown": (
        "显示前 {shown} 件（共 {total} 件，超期优先）；导出的 Excel 和 CSV 含全部",
        "Showing {shown} of {total} (overdue first); the Excel and CSV exports have them all",
    ),
    "mon.deadline": ("期限", "Deadline"),
    "mon.days_left": ("剩余天数", "Days left"),
    "mon.past_limit": ("已超期", "past the limit"),
    "mon.overdue_by": ("超期 {n} 天", "{n} days overdue"),
    "mon.days_n": ("{n} 天", "{n} days"),
    "mon.over_cap": ("延长超过上限", "Extension over the cap"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "mon.limit_used": ("已用时限", "Limit used"),
    "mon.age": ("案龄（天）", "Age (days)"),
    "case.export_too_many": (
        "所选案件 {n} 件，超过一次导出的上限 {most} 件：请先用筛选缩小范围",
        "{n} cases are selected, more than the {most} one export holds: narrow them with the filters first",
    ),
    "case.office_code": ("机构代码", "Office code"),
    "case.office_name": ("机构", "Office"),
    "case.case_no": ("案号", "Case no."),
    "case.case_kind": ("案件类型", "Kind"),
    "case.source": ("来源", "Source"),
    "case.received_date": ("收到日期", "Received"),
    "case.accepted_date": ("立案日期", "Accepted"),
    "case.closed_date": ("结案日期", "Closed"),
    "case.closing_type": ("结案方式", "Closing"),
    "case.review_outcome": ("复议/诉讼结果", "Review outcome"),
    "case.deadline": ("办案期限", "Deadline"),
    "case.acceptance_due": ("立案期限", "Acceptance due"),
    "case.suspended_days": ("中止天数", "Days suspended"),
    "case.extension_days": ("延长天数", "Days extended"),
    "case.status": ("时限状态", "Time-limit status"),
    "case.grade": ("评查等级", "Appraisal grade"),
    "case.appraisal_total": ("评查得分", "Appraisal score"),
    "case.title": ("案件详情", "Case"),
    "case.timeline": ("办案时间线", "Timeline"),
    "case.not_found": ("案件不存在或不在您的权限范围内。", "No such case in your scope."),
    "case.total": ("符合条件的案件", "cases match"),
    "status.closed_on_time": ("按期结案", "closed on time"),
    "status.closed_late": ("超期结案", "closed late"),
    "status.overdue": ("超期未结", "overdue"),
    "status.warning": ("预警", "warning"),
    "status.ok": ("正常", "on track"),
    "status.no_limit": ("无时限", "no time limit"),
    "meth.title": ("评估方法", "Methodology"),
    "meth.data_line": (
        "数据发布于 {published}（数据版本 {version}）",
        "Data published {published} (data version {version})",
    ),
    "meth.versions_line": (
        "配置版本：指标 {indicators}，办案时限 {limits}，计分 {scoring}",
        "Configuration versions: indicators {indicators}, time limits {limits}, scoring {scoring}",
    ),
    "meth.peers_national": ("{level}机构在全国范围内比较", "{level} offices are compared nationwide"),
    "meth.peers_province": ("{level}机构在本省范围内比较", "{level} offices are compared within their province"),
    "meth.mc_line": (
        "排名区间：模拟 {runs} 次，每次随机改变维度权重并在{methods}之间随机选用标准化方法（随机种子 {seed}），"
        "取模拟排名的第 {lo}–{hi} 百分位",
        "Rank intervals: {runs} simulations, each with randomly varied dimension weights and a scoring method "
        "drawn from {methods} (random seed {seed}); the interval runs from the {lo}th to the {hi}th percentile "
        "of the simulated ranks",
    ),
    "meth.mc_resample": (
        "；每次模拟还在每个比较组内对各机构的评查案卷重新抽样（各组使用各自的随机序列，"
        "因此一个组的排名区间不受其他组的影响）",
        "; each simulation also resamples every office's appraised archives within its peer group (each group "
        "with its own random sequence, so a group's intervals do not depend on the other groups)",
    ),
    "meth.scoring_line": (
        "标准化方法：{method}；维度权重：{weights}",
        "Scoring method: {method}; dimension weights: {weights}",
    ),
    "meth.working_days": ("{n} 个工作日", "{n} working days"),
    "meth.data": ("数据截至", "Data as of"),
    "meth.versions": ("配置版本", "Configuration versions"),
    "meth.rules": ("办案时限规则", "Time-limit rules"),
    "meth.scoring": ("计分方法", "Scoring"),
    "meth.mc": ("排名不确定性", "Rank uncertainty"),
    "meth.peer_groups": ("同级组", "Peer groups"),
    "rule.case_kind": ("案件类型", "Case kind"),
    "rule.start": ("适用起始", "From"),
    "rule.limit": ("办案时限", "Time limit"),
    "rule.extension": ("最长延长", "Longest extension"),
    "rule.acceptance": ("立案时限", "Acceptance within"),
    "report.title": ("年度评估报告", "Annual assessment workbook"),
    "report.lang": ("报告语言", "Workbook language"),
    "report.download": ("下载年度报告 (.xlsx)", "Download workbook (.xlsx)"),
    "archives.title": ("我的评查案卷", "Archives assigned to me"),
    "archives.status": ("状态", "Status"),
    "archives.done": ("已评查", "Done"),
    "archives.pending": ("待评查", "Pending"),
    "archives.progress": (
        "已评查 {done} / {total} 件，待评查 {pending} 件",
        "{done} of {total} archives appraised, {pending} pending",
    ),
    "none": ("无数据", "No data"),
    "fresh.appraisals": (
        "质量维度计入了 {at} 以前录入的评查结果。",
        "The quality dimension counts the appraisals entered before {at}.",
    ),
    "fresh.updating": (
        "此后新录入的评查结果正在计入，几秒后刷新页面即可看到。",
        "Appraisals entered since are being counted; reload the page in a few seconds to see them.",
    ),
    "not_found": ("找不到该页面", "Page not found"),
}
for _more in (
    INSPECTION_LABELS,
    RECTIFICATION_LABELS,
    SUPERVISION_LABELS,
    VISIT_LABELS,
    NOTIFY_LABELS,
    ASSESSMENT_LABELS,
):
    _clash = set(LABELS) & set(_more)
    assert not _clash, f"labels defined twice: {sorted(_clash)}"
    LABELS.update(_more)

# One vocabulary: what the dashboard and the annual workbook both name (the dimensions, the
# integrity signals) is named once, in reports/labels.py, and taken from there.
for _key, _zh in _BOOK["zh"]["dims"].items():
    LABELS[f"dim.{_key}"] = (_zh, _BOOK["en"]["dims"][_key])
for _key, _zh in _BOOK["zh"]["signals"].items():
    LABELS[f"sig.{_key}"] = (_zh, _BOOK["en"]["signals"][_key])


def t(key: str, lang: str) -> str:
    zh, en = LABELS[key]
    return en if lang == "en" else zh


def label(key: str, fallback: str, lang: str) -> str:
    """`t(key, lang)`, or `fallback` for a key the catalogue does not have (a code from a config file)."""
    return t(key, lang) if key in LABELS else fallback


def both(key: str) -> str:
    zh, en = LABELS[key]
    return f"{zh} · {en}"


def num(value: float | int | None, lang: str, digits: int = 0) -> str:
    """A number with thousands separators; '—' for none. Chinese uses the same digits and separators."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def pct(value: float | None, lang: str, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def signed(value: float | int | None, digits: int = 0, *, pct_points: bool = False) -> str:
    if value is None:
        return "—"
    if pct_points:
        return f"{value * 100:+.{digits}f} pp"
    return f"{value:+,.{digits}f}"


def date(value: dt.date | str | None, lang: str) -> str:
    if value is None:
        return "—"
    d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.isoformat()


BEIJING = dt.timezone(dt.timedelta(hours=8))


def colon(lang: str) -> str:
    """The colon between a label and its value: full-width in Chinese."""
    return "：" if lang == "zh" else ": "


def beijing_day(iso: str) -> str:
    """The date (YYYY-MM-DD) in Beijing of a recorded UTC time (late evening UTC is the next day)."""
    return dt.datetime.fromisoformat(iso).astimezone(BEIJING).date().isoformat()


def when(iso: str, lang: str) -> str:
    """A recorded UTC time in Beijing time, as people here read it."""
    at = dt.datetime.fromisoformat(iso).astimezone(BEIJING)
    return at.strftime("%Y-%m-%d %H:%M") + (" 北京时间" if lang == "zh" else " Beijing time")
