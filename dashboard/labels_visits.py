"""Words of the return-visit pages, panel and form (zh, en), merged into `dashboard.i18n`."""

from __future__ import annotations

VISIT_LABELS: dict[str, tuple[str, str]] = {
    "nav.visits": ("回访", "Return visits"),
    "visit.title": ("结案回访", "Return visits of concluded cases"),
    "visit.intro": (
        "按公开的随机算法抽取已结案件，由未承办该案、且不属于办案机构的人员回访当事人，了解办案效果。"
        "对不满意的回访、调解协议未履行或未完全履行的，向办案机构发出整改通知。以下数字仅作展示，不计入考核得分。",
        "Concluded cases are drawn by the published random algorithm; someone who neither handled the case nor "
        "works at its office visits the party to trace the effect of the handling. An unsatisfied visit, or a "
        "mediated agreement not or only partly carried out, sends the office a rectification notice. These figures "
        "are shown, not scored.",
    ),
    "visit.plans": ("回访计划", "Visit plans"),
    "visit.plan": ("计划", "Plan"),
    "visit.year": ("年度", "Year"),
    "visit.drawn_on": ("抽取日期", "Drawn on"),
    "visit.not_drawn": ("尚未抽取", "Not drawn yet"),
    "visit.progress": ("已回访 / 应回访", "Recorded / drawn"),
    "visit.none": ("没有回访记录", "No return visits"),
    "visit.figures": ("回访情况（按下级机构汇总）", "Return visits by the offices below"),
    "visit.office": ("办案机构", "Office"),
    "visit.drawn": ("应回访", "Drawn"),
    "visit.recorded": ("已回访", "Recorded"),
    "visit.coverage": ("联系到当事人比例", "Parties reached"),
    "visit.satisfaction": ("平均满意度（1–5分）", "Mean satisfaction (1–5)"),
    "visit.fulfilment": ("调解协议履行率", "Mediated agreements carried out"),
    "visit.notices": ("整改通知", "Notices"),
    "visit.total": ("合计", "Total"),
    "visit.interval_note": (
        "括号内为95%置信区间（Clopper–Pearson 法）；联系到当事人比例以应回访案件为分母，履行率以联系到当事人的调解结案案件为分母。",
        "In brackets: the 95% interval (Clopper–Pearson). Parties reached are counted of the cases drawn; the "
        "fulfilment rate of the mediated cases whose party was reached.",
    ),
    "visit.chart": ("联系到当事人比例与调解协议履行率", "Parties reached and agreements carried out"),
    "visit.list": ("回访案件", "Visits"),
    "visit.case": ("案号", "Case"),
    "visit.visitor": ("回访人", "Visitor"),
    "visit.status": ("状态", "Status"),
    "visit.pending": ("待回访", "To visit"),
    "visit.done": ("已回访", "Visited"),
    "visit.date": ("回访日期", "Visited on"),
    "visit.reached": ("联系到当事人", "Party reached"),
    "visit.score": ("满意度", "Satisfaction"),
    "visit.fulfilled": ("协议履行", "Agreement carried out"),
    "visit.complaint": ("投诉或意见", "Complaint"),
    "visit.notice": ("整改通知", "Notice"),
    "visit.yes": ("是", "Yes"),
    "visit.no": ("否", "No"),
    "visit.fulfilment.yes": ("已履行", "Carried out"),
    "visit.fulfilment.partly": ("部分履行", "Partly"),
    "visit.fulfilment.no": ("未履行", "Not carried out"),
    "visit.not_mediated": ("非调解结案，不适用", "Not mediated: does not apply"),
    "visit.form": ("登记回访", "Record a visit"),
    "visit.pick": ("回访案件", "Case visited"),
    "visit.record": ("登记", "Record"),
    "visit.recorded_ok": ("已登记", "Recorded"),
    "visit.notice_opened": (
        "已登记，并向办案机构发出整改通知 {notice}",
        "Recorded; notice {notice} sent to the office",
    ),
    "visit.refused": ("您无权登记该案件的回访", "You may not record this case's visit"),
    "visit.pick_missing": ("请选择回访案件", "Choose the case visited"),
    "visit.date_missing": ("请选择回访日期", "Choose the day of the visit"),
    "visit.reached_missing": ("请选择是否联系到当事人", "Say whether the party was reached"),
    "visit.panel": ("结案回访（{year}年）", "Return visits ({year})"),
    "visit.panel_none": ("本年度没有回访记录", "No return visits this year"),
    "visit.panel_line": (
        "应回访 {drawn} 件，已回访 {recorded} 件；联系到当事人 {coverage}；平均满意度 {mean}；调解协议履行率 {fulfilment}；"
        "发出整改通知 {notices} 份。",
        "{drawn} drawn, {recorded} recorded; parties reached {coverage}; mean satisfaction {mean}; agreements "
        "carried out {fulfilment}; {notices} notices sent.",
    ),
    "visit.reason.unsatisfied": ("当事人不满意", "Party unsatisfied"),
    "visit.reason.agreement_not_carried_out": ("调解协议未完全履行", "Agreement not fully carried out"),
    "visit.finding": ("回访发现", "What the visit found"),
    "visit.reasons": ("原因", "Why"),
    "visit.own": ("{name}（本级案件）", "{name} (its own cases)"),
    "visit.distribution": ("当事人满意度分布（人）", "Parties by satisfaction"),
    "visit.score_1": ("1 很不满意", "1 very unsatisfied"),
    "visit.score_2": ("2 不满意", "2 unsatisfied"),
    "visit.score_3": ("3 一般", "3 neutral"),
    "visit.score_4": ("4 满意", "4 satisfied"),
    "visit.score_5": ("5 很满意", "5 very satisfied"),
}
