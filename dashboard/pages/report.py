"""The annual assessment workbook, built in the background with progress."""

from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update
from flask_login import current_user

from access import policy
from dashboard import ids
from dashboard.context import Context, Request
from dashboard.i18n import t
from dashboard.page import Page
from metrics.config import DIMENSIONS


def report_page(lang: str, settings: str = "", what_if: bool = False) -> html.Section:
    """`settings`: the official settings in words; `what_if`: the page's view differs from them."""
    return html.Section(
        className="report card",
        children=[
            html.H2(t("report.title", lang)),
            html.P(
                t("what.workbook_official", lang).format(settings=settings),
                id=ids.REPORT_SETTINGS,
                className="warning" if what_if else "note",
            ),
            html.Label(t("report.lang", lang)),
            dcc.RadioItems(
                id=ids.REPORT_LANG,
                value=lang,
                inline=True,
                options=[{"label": "中文", "value": "zh"}, {"label": "English", "value": "en"}],
            ),
            html.Button(t("report.download", lang), id=ids.REPORT_BUTTON, n_clicks=0),
            html.Progress(id=ids.REPORT_PROGRESS, value="0", max="100"),
            html.Span(id=ids.REPORT_STATUS, className="report-status"),
            dcc.Interval(id=ids.REPORT_POLL, interval=700, disabled=True),
            dcc.Download(id=ids.REPORT_DOWNLOAD),
        ],
    )


def render(req: Request) -> html.Section:
    config, lang, c = req.ctx.config, req.lang, req.controls
    sep = "、" if lang == "zh" else ", "
    settings = ("；" if lang == "zh" else "; ").join(
        [
            f"{t('ctl.method', lang)} {t(f'method.{config.scoring.method}', lang)}",
            f"{t('what.weights_word', lang)} "
            + sep.join(f"{t(f'dim.{d}', lang)} {config.scoring.dimension_weights[d]:g}" for d in DIMENSIONS),
            t("what.year_end", lang),
        ]
    )
    return report_page(lang, settings, bool(c.method or c.weights or c.as_of_date.strftime("%m-%d") != "12-31"))


PAGES = [Page("/report", "report", render, nav="nav.report", order=40)]


def callbacks(app, ctx: Context) -> None:
    @app.callback(
        Output(ids.REPORT_STATUS, "children"),
        Output(ids.REPORT_POLL, "disabled"),
        Input(ids.REPORT_BUTTON, "n_clicks"),
        State(ids.YEAR, "value"),
        State(ids.REPORT_LANG, "value"),
        prevent_initial_call=True,
    )
    def _start_report(clicks: int, year: int | None, lang: str | None):
        if not clicks or year is None:
            return no_update, no_update
        started, message = ctx.jobs.start(current_user.user, year=int(year), lang=lang or "zh")
        return message, not started and ctx.jobs.status(current_user.user.username) is None

    @app.callback(
        Output(ids.REPORT_PROGRESS, "value"),
        Output(ids.REPORT_STATUS, "children", allow_duplicate=True),
        Output(ids.REPORT_POLL, "disabled", allow_duplicate=True),
        Output(ids.REPORT_DOWNLOAD, "data"),
        Input(ids.REPORT_POLL, "n_intervals"),
        prevent_initial_call=True,
    )
    def _poll_report(_n: int):
        if not policy.require(ctx.ops, actor=current_user.user, action="report", what="report progress"):
            return "0", no_update, True, no_update
        username = current_user.user.username
        job = ctx.jobs.status(username)
        if job is None:
            return "0", no_update, True, no_update
        if not job.finished:
            return str(int(job.progress * 100)), f"{int(job.progress * 100)}% · {job.stage}", False, no_update
        if job.error:
            ctx.jobs.forget_failed(username)
            return "0", f"生成失败 · failed: {job.error}", True, no_update
        got = ctx.jobs.take(username)
        if got is None:  # another tab of this user took it a moment ago
            return "0", no_update, True, no_update
        name, content = got
        return "100", "完成 · done", True, dcc.send_bytes(content, name)
