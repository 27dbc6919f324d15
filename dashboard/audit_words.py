"""The audit log in words: each recorded action and the keys of its details named in Chinese and
English, times in Beijing time, details as "name: value" rather than the JSON they are kept as.
An action or key not listed here (a newer one) is shown as recorded, never hidden."""

from __future__ import annotations

import json

ACTIONS: dict[str, tuple[str, str]] = {
    "login": ("登录", "signed in"),
    "logout": ("退出", "signed out"),
    "login.failed": ("登录失败", "sign-in failed"),
    "login.throttled": ("登录过于频繁被拒", "sign-in refused: too many attempts"),
    "login.csrf_refused": ("登录表单校验失败被拒", "sign-in refused: form check failed"),
    "request.cross_site_refused": ("跨站请求被拒", "cross-site request refused"),
    "scope.denied": ("越权访问被拒", "refused: outside the user's scope"),
    "export.denied": ("导出被拒", "export refused"),
    "user.add": ("新增用户", "user added"),
    "user.disable": ("停用用户", "user disabled"),
    "user.reset_password": ("重置密码", "password reset"),
    "user.set_scope": ("调整用户管辖范围", "user's scope changed"),
    "plan.create": ("新建抽查计划", "inspection plan created"),
    "plan.lock": ("锁定抽查总体", "population locked"),
    "plan.publish": ("公开抽查结果", "results published"),
    "plan.correct": ("更正已公开结果", "published results corrected"),
    "draw": ("随机抽取", "draw made"),
    "draw.void": ("作废抽取", "draw voided"),
    "appraisal.change": ("修改评查结果", "appraisal changed"),
    "export.checklist": ("下载评查表", "checklist downloaded"),
    "export.report": ("下载年度报告", "annual workbook downloaded"),
    "export.open_cases": ("导出未结案件", "open cases exported"),
    "export.manifest": ("下载抽取清单", "draw manifest downloaded"),
    "export.appraisal_report": ("下载抽查报告", "inspection report downloaded"),
    "export.ranking": ("导出排名表", "ranking exported"),
    "rectification.open": ("发出整改通知", "rectification notice opened"),
    "rectification.respond": ("答复整改通知", "notice answered"),
    "rectification.return": ("退回整改答复", "answer returned"),
    "rectification.accept": ("通过整改", "rectification accepted"),
    "supervision.add": ("列入督办", "case put under supervision"),
    "supervision.conclude": ("督办办结", "supervision concluded"),
    "visit_plan.create": ("新建回访计划", "return-visit plan created"),
    "visit_plan.lock": ("锁定回访总体", "return-visit population locked"),
    "visit_plan.draw": ("抽取回访案件", "return visits drawn"),
    "visit.record": ("记录回访", "return visit recorded"),
    "subscription.add": ("新增订阅", "subscription added"),
    "subscription.remove": ("取消订阅", "subscription removed"),
    "assessment.self": ("填报自评分", "self-score entered"),
    "assessment.assess": ("填报考核评分", "assessor's score entered"),
    "assessment.publish": ("公布考核结果", "assessment published"),
}
PREFIXES: dict[str, tuple[str, str]] = {
    "ingest.": ("导入数据", "data loaded"),
    "delivery.": ("发送通知", "delivery"),
}
KEYS: dict[str, tuple[str, str]] = {
    "address": ("地址", "address"),
    "year": ("年度", "year"),
    "user": ("用户", "user"),
    "offices": ("机构数", "offices"),
    "archives": ("案卷数", "archives"),
    "to": ("改为", "to"),
    "from": ("原为", "from"),
    "seed": ("随机种子", "seed"),
    "scope": ("范围", "scope"),
    "reason": ("理由", "reason"),
    "level": ("层级", "level"),
    "inspector": ("评查人员", "inspector"),
    "due_date": ("期限", "due"),
    "what": ("对象", "what"),
    "visits": ("回访数", "visits"),
    "version": ("版本", "version"),
    "text": ("内容", "text"),
    "status": ("状态", "status"),
    "score": ("分数", "score"),
    "run": ("批次", "run"),
    "rows": ("行数", "rows"),
    "role": ("角色", "role"),
    "population": ("总体", "population"),
    "plan_id": ("计划", "plan"),
    "draw_id": ("抽取批次", "draw"),
    "permission": ("所需权限", "permission"),
    "office": ("机构", "office"),
    "note": ("说明", "note"),
    "loaded": ("新增", "loaded"),
    "updated": ("更新", "updated"),
    "rejected": ("拒收", "rejected"),
    "lang": ("语言", "language"),
    "kind": ("类型", "kind"),
    "format": ("格式", "format"),
    "error": ("错误", "error"),
    "conclusion": ("结论", "conclusion"),
    "attachments": ("附件", "attachments"),
    "evidence": ("证明材料", "evidence"),
    "publication_withdrawn": ("撤回已公开结果", "publication withdrawn"),
    "excluded_pending_review": ("复议诉讼中未纳入", "left out under review"),
}


def action_words(action: str) -> str:
    """ "登录 · signed in"; an unlisted action as recorded."""
    pair = ACTIONS.get(action) or next((p for k, p in PREFIXES.items() if action.startswith(k)), None)
    return f"{pair[0]} · {pair[1]}" if pair else action


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, list):
        return "、".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{_key(k)}：{_value(v)}" for k, v in value.items())
    return str(value)


def _key(key: str) -> str:
    pair = KEYS.get(key)
    return f"{pair[0]} {pair[1]}" if pair else key


def detail_words(detail: str | None) -> str:
    """An entry's details, kept as JSON, as "名称 name：value；…" with Chinese shown as Chinese."""
    if not detail:
        return ""
    try:
        got = json.loads(detail)
    except ValueError:
        return detail
    return _value(got) if isinstance(got, dict | list) else str(got)
