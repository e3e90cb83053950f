"""The one translation table of what the Prefect UI shows: artifact titles and columns, run names,
workbook labels and form descriptions, in Chinese (the branch's staff) and English.

``NPL_LANG=zh|en`` (default ``zh``) picks the language; ``t(key, **values)`` gives a label with
its ``{placeholders}`` filled. Every label lives here once (tests/unit/test_i18n.py checks that
each key used in the code has both languages and that no text is entered twice); a label not in
the table is a programming error (``KeyError``), never a silent fallback.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

LABELS: dict[str, dict[str, str]] = {
    # --- run names -----------------------------------------------------------------------------
    "run.daily": {"zh": "每日催收 {date}", "en": "daily {date}"},
    "run.report": {"zh": "资产组合报告 {date}", "en": "portfolio report {date}"},
    "run.case": {"zh": "{loan_id}：案件查询", "en": "{loan_id}: case lookup"},
    "run.escalation": {"zh": "{loan_id} → {to}（申请人 {requested_by}）", "en": "{loan_id} → {to} by {requested_by}"},
    "run.payment": {"zh": "{loan_id}：还款 {amount}", "en": "{loan_id}: payment {amount}"},
    "run.visit": {"zh": "{loan_id}：走访 {outcome}", "en": "{loan_id}: visit {outcome}"},
    "run.demand": {"zh": "{loan_id}：催收函", "en": "{loan_id}: demand"},
    "run.cost": {"zh": "{loan_id}：费用 {amount}", "en": "{loan_id}: cost {amount}"},
    "run.plan": {"zh": "{loan_id}：分期协议 每月 {monthly}", "en": "{loan_id}: plan {monthly}/month"},
    "run.judgment": {"zh": "{loan_id}：判决 {amount}", "en": "{loan_id}: judgment {amount}"},
    "run.enforcement": {"zh": "{loan_id}：申请强制执行", "en": "{loan_id}: enforcement application"},
    "run.take_asset": {"zh": "{loan_id}：以物抵债 {asset} 作价 {value}", "en": "{loan_id}: {asset} taken at {value}"},
    "run.dispose_asset": {"zh": "{loan_id}：处置抵债资产 {asset}", "en": "{loan_id}: {asset} disposed of"},
    "run.requested_by_daily": {"zh": "{loan_id} → {to}（每日批处理申请）", "en": "{loan_id} → {to} (requested by the daily run)"},
    # --- the daily run's publishing ------------------------------------------------------------
    "daily.past_date_note": {
        "zh": "{date} 早于最近一次已完成的营业日 {last}：未做任何改动，也未发布任何“最新”报表。",
        "en": "{date} is before the last completed business date {last}: nothing changed and nothing was published as latest.",
    },
    "daily.my_work": {"zh": "今日我的工作", "en": "My work today"},
    "daily.my_work_hint": {"zh": "点击您的工号查看今日全部待办（最紧急的在前）。",
                           "en": "Open your officer id for every item of your work today (most urgent first)."},
    "daily.no_work": {"zh": "今日无待办事项", "en": "nothing to do today"},
    "worklist.title": {"zh": "{officer} 的工作清单 {date}", "en": "Work of {officer} on {date}"},
    "worklist.workbook": {"zh": "工作清单 {date}", "en": "Worklist {date}"},
    "col.loan": {"zh": "贷款", "en": "loan"},
    "col.task": {"zh": "任务", "en": "task"},
    "col.detail": {"zh": "说明", "en": "detail"},
    "col.due": {"zh": "期限", "en": "due"},
    "col.urgent": {"zh": "紧急", "en": "urgent"},
    "col.officer": {"zh": "客户经理", "en": "officer"},
    "col.items": {"zh": "事项数", "en": "items"},
    "col.age_days": {"zh": "等待天数", "en": "age (days)"},
    "col.requested_by": {"zh": "申请人", "en": "requested by"},
    "col.run": {"zh": "审批链接", "en": "approve here"},
    "col.move": {"zh": "变更", "en": "move"},
    "col.reason": {"zh": "理由", "en": "reason"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    # worklist task kinds (services.worklist.TASK_ORDER)
    "task.quarantined": {"zh": "隔离待修正", "en": "quarantined"},
    "task.approval_awaited": {"zh": "等待审批", "en": "approval awaited"},
    "task.deadline_at_risk": {"zh": "期限临近", "en": "deadline at risk"},
    "task.deadline_lapsed": {"zh": "期限已届满", "en": "deadline lapsed"},
    "task.send_demand": {"zh": "发送催收函", "en": "send demand"},
    "task.file_suit": {"zh": "提起诉讼", "en": "file suit"},
    "task.visit": {"zh": "上门拜访", "en": "visit"},
    "task.press_guarantor": {"zh": "向保证人追偿", "en": "press guarantor"},
    "task.prepare_filing": {"zh": "准备起诉", "en": "prepare filing"},
    "task.apply_enforcement": {"zh": "申请强制执行", "en": "apply for enforcement"},
    # --- approvals inbox -----------------------------------------------------------------------
    "approvals.title": {"zh": "待审批申请（{count}）", "en": "Pending approvals ({count})"},
    "approvals.none": {"zh": "没有待审批的申请", "en": "no request awaits approval"},
    "approvals.description": {"zh": "所有等待第二人审批的申请：在运行页点击“Resume”作答",
                              "en": "Every request awaiting a second person: answer it with Resume on its run page"},
    # --- case page -----------------------------------------------------------------------------
    "case.title": {"zh": "案件 {loan_id}", "en": "Case {loan_id}"},
    "case.summary": {"zh": "概况", "en": "Summary"},
    "case.state": {"zh": "状态", "en": "state"},
    "case.classification": {"zh": "五级分类", "en": "classification"},
    "case.dpd": {"zh": "逾期天数", "en": "days past due"},
    "case.borrower": {"zh": "借款人", "en": "borrower"},
    "case.balance": {"zh": "余额（截至 {date}）", "en": "Balance (as of {date})"},
    "case.principal": {"zh": "本金", "en": "principal"},
    "case.interest": {"zh": "利息", "en": "interest"},
    "case.penalty": {"zh": "罚息", "en": "penalty"},
    "case.costs": {"zh": "费用", "en": "costs"},
    "case.total": {"zh": "合计", "en": "total"},
    "case.clocks": {"zh": "法定时限", "en": "Clocks"},
    "case.clock": {"zh": "时限", "en": "clock"},
    "case.ends": {"zh": "届满日", "en": "ends"},
    "case.status": {"zh": "状况", "en": "status"},
    "clock.passed": {"zh": "已过期", "en": "passed"},
    "clock.days_left": {"zh": "剩余 {days} 天", "en": "{days} days left"},
    "case.history": {"zh": "状态历史", "en": "History"},
    "case.actions": {"zh": "催收行动", "en": "Actions"},
    "case.next_events": {"zh": "接下来将发生", "en": "Coming events"},
    "case.awaiting": {"zh": "等待审批：{move}（{reason}）", "en": "awaiting approval: {move} ({reason})"},
    "case.none": {"zh": "无", "en": "none"},
    "col.on": {"zh": "日期", "en": "on"},
    "col.from": {"zh": "原状态", "en": "from"},
    "col.to": {"zh": "新状态", "en": "to"},
    "col.by": {"zh": "经办人", "en": "by"},
    "col.approved_by": {"zh": "审批人", "en": "approved by"},
    "col.kind": {"zh": "类别", "en": "kind"},
    "col.amount": {"zh": "金额", "en": "amount"},
    "col.who": {"zh": "由谁", "en": "who"},
    "col.unless": {"zh": "除非", "en": "unless"},
    # --- the portfolio report ------------------------------------------------------------------
    "report.title": {"zh": "资产组合报告（截至 {date}）", "en": "Portfolio as of {date}"},
    "report.loans": {"zh": "在册贷款", "en": "open loans"},
    "report.balance": {"zh": "余额合计", "en": "balance"},
    "report.npl_ratio": {"zh": "不良率", "en": "NPL ratio"},
    "report.recovered": {"zh": "累计回收", "en": "recovered"},
    "report.by_state": {"zh": "按状态", "en": "By state"},
    "report.by_classification": {"zh": "按五级分类", "en": "By classification"},
    "report.files": {"zh": "工作簿与图表", "en": "Workbook and charts"},
    "report.files_hint": {"zh": "只读链接，由服务进程提供（make serve）。", "en": "Read-only links served by the serve process (make serve)."},
    "col.cases": {"zh": "户数", "en": "cases"},
    "col.value": {"zh": "数值", "en": "value"},
    # --- form descriptions ---------------------------------------------------------------------
    "notify.approval_needed": {"zh": "需要第二人审批", "en": "approval needed"},
    "notify.deadline_at_risk": {"zh": "法定期限即将届满", "en": "legal deadline close"},
    "notify.promise_broken": {"zh": "承诺还款未兑现", "en": "promise broken"},
    "form.case_lookup": {"zh": "查询一个案件：概况、余额、法定时限、历史、行动与接下来将发生的事件。",
                         "en": "Look a case up: summary, balance, clocks, history, actions and coming events."},
    "form.loan_id": {"zh": "贷款编号，例如 L-0001", "en": "the loan, e.g. L-0001"},
    "error.amount": {"zh": "{field}：金额须为正数（元），最多两位小数，例如 1000.00；收到的是“{value}”",
                     "en": "{field}: an amount is a positive number of yuan with at most two decimals, e.g. 1000.00; got \"{value}\""},
    # --- the daily run's summary (services.reporting.summary_markdown) and tables -------------------
    "summary.title": {"zh": "每日催收汇总 — {date}", "en": "Daily collection — {date}"},
    "summary.already_done": {"zh": "营业日 {date} 此前已完成：未做任何改动。", "en": "Business date {date} was already completed: nothing changed."},
    "summary.ran": {"zh": "运行 {dates} 个营业日（其中 {event_dates} 个有事件）；判断 {cases} 户；状态变更 {transitions} 次。",
                    "en": "Ran {dates} business date(s) ({event_dates} with events); {cases} case(s) judged; {transitions} transition(s)."},
    "summary.by_state": {"zh": "各状态案件", "en": "Cases by state"},
    "summary.by_classification": {"zh": "在册案件按五级分类", "en": "Open cases by classification"},
    "summary.first_shown": {"zh": "（仅列出前 {shown} 条，共 {total} 条）", "en": "(the first {shown} of {total} shown)"},
    "summary.transitions": {"zh": "状态变更", "en": "Transitions"},
    "summary.at_risk": {"zh": "即将届满的法定期限", "en": "Deadlines at risk"},
    "summary.awaiting": {"zh": "新增待审批", "en": "Newly awaiting approval"},
    "summary.quarantined": {"zh": "隔离：无法判断（{total}）", "en": "Quarantined: could not be judged ({total})"},
    "summary.quarantined_hint": {
        "zh": "其余案件照常推进，这些案件被暂时搁置；请逐一修正后再次运行每日批处理（会补跑遗漏的营业日）。",
        "en": "Left out while the rest of the book advanced; correct each case and run the daily flow again (it catches up the dates it missed).",
    },
    "col.outstanding_principal": {"zh": "未偿本金", "en": "outstanding principal"},
    "col.what_to_do": {"zh": "应办事项", "en": "what to do"},
    "col.error": {"zh": "错误", "en": "error"},
    "daily.worklist_description": {"zh": "{date} 各客户经理的工作量（`npl worklist --as-of {date}` 列出全部事项）",
                                   "en": "Work per officer on {date} (`npl worklist --as-of {date}` lists every item)"},
    "daily.urgent_description": {"zh": "{date} 的待审批事项、即将届满的期限与待发催收函",
                                 "en": "Approvals awaited, deadlines at risk and demands to send on {date}"},
    "daily.risks_description": {"zh": "{date} 进入提前期的法定期限", "en": "Legal deadlines within their lead days on {date}"},
    "daily.nothing_urgent": {"zh": "无紧急事项", "en": "nothing urgent"},
    # --- the report's workbook (flows.reports: sheets and columns) and charts (models.charts) ------
    "report.table_description": {"zh": "{table}（截至 {date}）", "en": "{table} as of {date}"},
    "sheet.aging": {"zh": "账龄", "en": "aging"},
    "sheet.recoveries_by_strategy": {"zh": "按清收方式回收", "en": "recoveries by strategy"},
    "sheet.recoveries_by_payer": {"zh": "按付款人回收", "en": "recoveries by payer"},
    "sheet.recoveries_by_month": {"zh": "按月回收", "en": "recoveries by month"},
    "sheet.officer_accountability": {"zh": "客户经理责任", "en": "officer accountability"},
    "sheet.roll_rates": {"zh": "迁徙率", "en": "roll rates"},
    "sheet.migration": {"zh": "五级分类迁徙", "en": "classification migration"},
    "sheet.recoveries_chart": {"zh": "回收图", "en": "recoveries chart"},
    "sheet.classification_chart": {"zh": "五级分类图", "en": "classification chart"},
    "col.count": {"zh": "笔数", "en": "count"},
    "col.bucket": {"zh": "逾期区间", "en": "bucket"},
    "col.strategy": {"zh": "清收方式", "en": "strategy"},
    "col.payer": {"zh": "付款人", "en": "payer"},
    "col.month": {"zh": "月份", "en": "month"},
    "col.time_limit_days": {"zh": "时限（天）", "en": "time limit (days)"},
    "col.suspended_since": {"zh": "停职日期", "en": "suspended since"},
    "col.from_bucket": {"zh": "原区间", "en": "from bucket"},
    "col.to_bucket": {"zh": "新区间", "en": "to bucket"},
    "col.rate": {"zh": "比率", "en": "rate"},
    "class.normal": {"zh": "正常", "en": "normal"},
    "class.special_mention": {"zh": "关注", "en": "special mention"},
    "class.substandard": {"zh": "次级", "en": "substandard"},
    "class.doubtful": {"zh": "可疑", "en": "doubtful"},
    "class.loss": {"zh": "损失", "en": "loss"},
    "class.exited": {"zh": "已退出", "en": "exited"},
    "strategy.early": {"zh": "早期催收", "en": "early collection"},
    "strategy.visit": {"zh": "上门催收", "en": "visits"},
    "strategy.guarantor": {"zh": "保证人代偿", "en": "guarantors"},
    "strategy.court": {"zh": "诉讼清收", "en": "court"},
    "strategy.installment": {"zh": "分期还款", "en": "instalments"},
    "strategy.revitalization": {"zh": "盘活重组", "en": "revitalization"},
    "chart.recoveries": {"zh": "按月回收金额（元）", "en": "Recoveries by month (yuan)"},
    "chart.no_recoveries": {"zh": "暂无回收", "en": "No recoveries"},
    "chart.classification": {"zh": "在册余额按五级分类（元）", "en": "Open balance by classification (yuan)"},
    "chart.no_open_loans": {"zh": "没有在册贷款", "en": "No open loans"},
    "chart.yuan": {"zh": "元", "en": "yuan"},
    "chart.loans": {"zh": "{count} 户", "en": "{count} loan(s)"},
    # --- the nightly feed's section (services.feed.markdown) ----------------------------------------
    "feed.title": {"zh": "夜间数据", "en": "Nightly feed"},
    "feed.by_hand": {"zh": "手工导入的数据文件", "en": "Export ingested by hand"},
    "feed.by_hand_description": {"zh": "从 {folder} 导入的数据文件", "en": "Export files ingested from {folder}"},
    "feed.missing": {
        "zh": "**数据缺失**：等待 {minutes} 分钟后仍无 {date} 的 {files} 文件；本次按现有账簿继续运行（事件 `npl.feed.missing`）。",
        "en": "**Export missing**: no {files} file for {date} after waiting {minutes} min; the run went on with the book it has (event `npl.feed.missing`).",
    },
    "feed.this_run": {"zh": "本次运行", "en": "this run"},
    "feed.no_files": {"zh": "收件箱中没有待导入的数据文件。", "en": "No export files were waiting in the inbox."},
    "feed.file": {"zh": "文件", "en": "file"},
    "feed.outcome": {"zh": "结果", "en": "outcome"},
    "feed.accepted": {"zh": "接受行数", "en": "rows accepted"},
    "feed.rejected": {"zh": "拒绝行数", "en": "rows rejected"},
    "feed.already_booked": {"zh": "此前已入账", "en": "already booked"},
    "feed.note": {"zh": "备注", "en": "note"},
    "feed.rejected_rows": {"zh": "被拒绝的行", "en": "Rejected rows"},
    "feed.line": {"zh": "行号", "en": "line"},
    "feed.column": {"zh": "列", "en": "column"},
    "feed.first_rejected": {
        "zh": "（仅列出前 {shown} 条，共 {total} 条；每个文件的拒绝记录与其并列存放在 processed/ 或 rejected/ 中）",
        "en": "(the first {shown} of {total} shown; each file's rejects file lies beside it in processed/ or rejected/)",
    },
}


def lang() -> str:
    chosen = os.environ.get("NPL_LANG", DEFAULT_LANG).strip().lower() or DEFAULT_LANG
    return chosen if chosen in LANGS else DEFAULT_LANG


def t(key: str, **values: object) -> str:
    """The label ``key`` in the chosen language, its placeholders filled from ``values``."""
    return t_in(lang(), key, **values)


def t_in(language: str, key: str, **values: object) -> str:
    """The label ``key`` in ``language`` (``zh`` or ``en``), whatever ``NPL_LANG`` says."""
    return LABELS[key][language].format(**values)


def task_label(task: str) -> str:
    return t(f"task.{task}")


def amount(value: Decimal | str | None) -> str:
    """Money as the artifacts show it: two decimals with thousands separators (``1,234,567.50``);
    text that is not a number is shown as it is."""
    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(str(value).replace(',', '')):,.2f}"
    except ArithmeticError:
        return str(value)


PLACEHOLDER = re.compile(r"\{(\w+)\}")


AMOUNT_MAX = Decimal("9999999999999.99")  # 15 digits, two of them decimals (the forms' Amount)


def amount_error(value: object, info: object = None) -> object:
    """A form's amount, checked before pydantic reads it: a positive number of yuan with at most
    two decimals. Anything else is refused in words (``error.amount``), naming the field."""
    field = getattr(info, "field_name", None) or "amount"
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            number = None
    else:
        number = None
    if number is None or not number.is_finite() or number <= 0 or number > AMOUNT_MAX or number != number.quantize(Decimal("0.01")):
        raise ValueError(t("error.amount", field=field, value=value))
    return number
