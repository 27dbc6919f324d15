"""Words of the assessment-scheme page (zh, en), merged into `dashboard.i18n`."""

from __future__ import annotations

ASSESSMENT_LABELS: dict[str, tuple[str, str]] = {
    "nav.assessment": ("考核评分", "Points table"),
    "assess.intro": (
        "按考核评分表逐项计分：计件、增长、分档、综合指标和人工评分（自评与考核评分并列，以考核评分计入）。"
        "带 * 的分项或分组已达上限。",
        "Scored item by item on the points table: per case, growth, bands, the composite and manual items "
        "(the self-score beside the assessor's, which counts). * marks an item or section at its cap.",
    ),
    "assess.source": ("依据", "Source"),
    "assess.published": ("已于 {day} 公布，结果不再变动", "Published on {day}; the results no longer change"),
    "assess.not_published": (
        "尚未公布：人工评分录入后结果会变化",
        "Not yet published: manual scores may still change it",
    ),
    "assess.rank_interval": ("（区间 {lo}–{hi}）", " (interval {lo}–{hi})"),
    "assess.rank": ("名次", "Rank"),
    "assess.office": ("机构", "Office"),
    "assess.total": ("总分", "Total"),
    "assess.self": ("自评", "Self"),
    "assess.assessor": ("考核", "Assessor"),
    "assess.diff": ("差", "Difference"),
    "assess.pending": ("待考核评分", "Assessor's score pending"),
    "assess.chart": ("各机构得分构成", "What each office's total is made of"),
    "assess.none": ("没有可显示的机构", "No office to show"),
    "assess.schemes": ("评分表", "Tables"),
    "assess.unusable": ("无法使用的评分表文件", "A table file that cannot be used"),
    "assess.form": ("录入人工评分", "Enter a manual score"),
    "assess.item": ("评分项目", "Item"),
    "assess.role": ("评分类型", "Score"),
    "assess.score": ("分数", "Points"),
    "assess.evidence": (
        "拖放或点击选择佐证材料（PDF、图片、Office 文件）",
        "Drop or choose evidence (PDF, images, Office files)",
    ),
    "assess.save": ("保存评分", "Save the score"),
    "assess.saved": (
        "已保存：自评 {own}，考核 {assessor}，佐证 {n} 份",
        "Saved: self {own}, assessor {assessor}, {n} evidence files",
    ),
    "assess.refused": ("您无权录入该机构的这项评分", "You may not enter this score for this office"),
    "assess.missing": (
        "请选择机构、项目、评分类型并填写分数",
        "Choose the office, item and kind of score, and give the points",
    ),
}
