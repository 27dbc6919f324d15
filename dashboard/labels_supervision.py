"""Words of the supervised-case pages and form (zh, en), merged into `dashboard.i18n`."""

from __future__ import annotations

SUPERVISION_LABELS: dict[str, tuple[str, str]] = {
    "nav.supervision": ("督办", "Supervised cases"),
    "sup.title": ("督办案件", "Supervised cases"),
    "sup.intro": (
        "上级机构对重要案件挂牌督办，设定督办期限；案件超过督办期限或法定办案期限仍未办结的，列为逾期。",
        "The level above supervises important cases with a due date; a case still open past that date or its "
        "legal time limit is overdue.",
    ),
    "sup.none": ("没有督办案件", "No supervised cases"),
    "sup.case": ("案号", "Case"),
    "sup.office": ("办案机构", "Office"),
    "sup.supervisor": ("督办机构", "Supervised by"),
    "sup.due": ("督办期限", "Due"),
    "sup.deadline": ("法定期限", "Legal deadline"),
    "sup.closed": ("结案日期", "Closed"),
    "sup.status": ("状态", "Status"),
    "sup.note": ("督办事由", "Why supervised"),
    "sup.status.open": ("督办中", "Open"),
    "sup.status.overdue": ("逾期未办结", "Overdue"),
    "sup.status.closed_in_time": ("按期办结", "Closed in time"),
    "sup.status.closed_late": ("逾期办结", "Closed late"),
    "sup.concluded": ("督办已完成", "Supervision concluded"),
    "sup.block": ("督办", "Supervision"),
    "sup.not_supervised": ("该案件未被督办", "This case is not supervised"),
    "sup.add": ("挂牌督办", "Supervise this case"),
    "sup.conclude": ("完成督办", "Conclude the supervision"),
    "sup.note_input": ("督办事由或办结情况", "Why, or how it was concluded"),
    "sup.due_input": ("督办期限", "Due date"),
    "sup.due_missing": ("请选择督办期限", "Choose the due date"),
    "sup.done": ("已办理", "Done"),
    "sup.refused": ("您无权督办该机构的案件", "You may not supervise this office's cases"),
    "sup.overdue_title": ("逾期督办案件", "Overdue supervised cases"),
    "sup.none_overdue": ("没有逾期的督办案件", "No supervised case is overdue"),
}
