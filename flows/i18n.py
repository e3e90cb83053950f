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
    "daily.my_work_hint": {"zh": "点击您的工号查看您的全部待办（最紧急的在前）。清单仅在待办变化时重新发布，“清单日期”是发布它的营业日。",
                           "en": "Open your officer id for every item of your work (most urgent first). A table is published again only when the work in it changes: its date is the business date that published it."},
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
    "col.table_of": {"zh": "清单日期", "en": "table of"},
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
    # a worklist item's or deadline's detail (services.worklist ``detail_parts``, joined in order;
    # ``npl worklist --json`` keeps its English ``detail``)
    "detail.apply_enforcement": {"zh": "申请强制执行判决 {judgment} 并登记（npl enforce）", "en": "apply for enforcement of judgment {judgment} and record it (npl enforce)"},
    "detail.demand_guarantor_limitation": {"zh": "{party}：向保证人催收，以中断保证债务的诉讼时效",
                                           "en": "{party}: demand the guarantor to interrupt the guarantee debt's limitation"},
    "detail.demand_joint_guarantor": {"zh": "{guarantor}：向连带责任保证人催收，并连同证据登记", "en": "{guarantor}: demand the joint guarantor and record it with its evidence"},
    "detail.file_suit_general_guarantee": {"zh": "{guarantor}：对借款人提起诉讼（一般保证）并登记",
                                           "en": "{guarantor}: file the suit against the borrower (general guarantee) and record it"},
    "detail.sue_general_guarantee": {"zh": "{guarantor}：起诉借款人（一般保证）：先经审批决定，再提起诉讼",
                                     "en": "{guarantor}: sue the borrower (general guarantee): an approved decision, then the filing"},
    "detail.file_suit_limitation": {"zh": "提起诉讼以中断诉讼时效，并登记", "en": "file the suit to interrupt the limitation period and record it"},
    "detail.borrower_not_found": {"zh": "借款人下落不明：起诉以中断诉讼时效", "en": "the borrower cannot be found: sue to interrupt the limitation period"},
    "detail.demand_borrower": {"zh": "向借款人催收以中断诉讼时效，并连同证据登记",
                               "en": "demand the borrower to interrupt the limitation period and record it with its evidence"},
    "detail.lapsed": {"zh": "{party}：已于 {date} 届满（{rule}）", "en": "{party}: LAPSED on {date} ({rule})"},
    "detail.dispose_asset": {"zh": "{asset}：处置抵债资产（《商业银行法》第四十二条）",
                             "en": "{asset}: dispose of the asset taken in settlement (Commercial Bank Law Art. 42)"},
    "detail.disposal_passed": {"zh": "{asset}：处置期限已过，请处置该资产（《商业银行法》第四十二条）",
                               "en": "{asset}: disposal deadline passed: dispose of the asset (Commercial Bank Law Art. 42)"},
    "detail.quarantined": {"zh": "每日批处理无法在 {date} 判断此案件（{error}）；请修正，下次运行将补跑遗漏的日期",
                           "en": "the daily run could not judge this case on {date} ({error}); correct it, and the next run catches up the dates it missed"},
    "detail.approval": {"zh": "{move}：{reason}", "en": "{move}: {reason}"},
    "detail.visit_unit": {"zh": "走访借款人工作单位 {employer}（{employer_type}）；住址：{address}",
                          "en": "visit the borrower's unit {employer} ({employer_type}); home: {address}"},
    "detail.visit_unit_no_address": {"zh": "走访借款人工作单位 {employer}（{employer_type}）；住址不详",
                                     "en": "visit the borrower's unit {employer} ({employer_type}); home: address unknown"},
    "detail.visit": {"zh": "走访 {name}，地址：{address}", "en": "visit {name} at {address}"},
    "detail.visit_no_address": {"zh": "走访 {name}，地址不详", "en": "visit {name} at address unknown"},
    "detail.visit_employer": {"zh": "；工作单位 {employer}", "en": "; employer {employer}"},
    "detail.phone": {"zh": "；电话 {phone}", "en": "; phone {phone}"},
    "detail.insider": {"zh": "（内部人贷款：由您负责）", "en": " (insider loan: your responsibility)"},
    "detail.prepare_filing": {"zh": "提起或跟进诉讼；申请查封或账户扣划", "en": "file / follow the suit; seek seizure or account deduction"},
    "detail.press_guarantor": {"zh": "催收、申请冻结或以物抵债：{guarantors}", "en": "demand, freeze request or in-kind settlement: {guarantors}"},
    "detail.no_guarantor": {"zh": "催收、申请冻结或以物抵债：无在册保证人", "en": "demand, freeze request or in-kind settlement: no guarantor on record"},
    "risk.at_risk": {"zh": "期限将届满", "en": "ends soon"},
    "risk.lapsed": {"zh": "已届满", "en": "lapsed"},
    "detail.clock_ends": {"zh": "{clock} 于 {date} 届满：", "en": "{clock} ends {date}: "},
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
    "case.compound": {"zh": "复利", "en": "compound interest"},
    "case.delayed": {"zh": "迟延履行利息", "en": "delayed-performance interest"},
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
    "automation.run": {"zh": "发生 {event} 时运行 {deployment}（由 deployments/serve.py 创建）。",
                       "en": "On {event}, run {deployment} (created by deployments/serve.py)."},
    "automation.notify": {"zh": "发生 {event} 时，通过 webhook 块 {block} 通知工作群。",
                          "en": "On {event}, tell the work group through the {block} webhook block."},
    "form.case_lookup": {"zh": "查询一个案件：概况、余额、法定时限、历史、行动与接下来将发生的事件。",
                         "en": "Look a case up: summary, balance, clocks, history, actions and coming events."},
    "form.loan_id": {"zh": "贷款编号，例如 L-0001", "en": "the loan, e.g. L-0001"},
    "error.amount": {"zh": "{field}：金额须为正数（元），最多两位小数，例如 1000.00；收到的是“{value}”",
                     "en": "{field}: an amount is a positive number of yuan with at most two decimals, e.g. 1000.00; got \"{value}\""},
    # --- the daily run's summary (services.daily_summary.summary_markdown) and tables -------------------
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
    "daily.summary_description": {"zh": "{date} 每日催收汇总", "en": "Daily collection summary {date}"},
    "daily.worklist_description": {"zh": "{date} 各客户经理的工作量（`npl worklist --as-of {date}` 列出全部事项）",
                                   "en": "Work per officer on {date} (`npl worklist --as-of {date}` lists every item)"},
    "daily.urgent_description": {"zh": "{date} 的待审批事项、即将届满的期限与待发催收函",
                                 "en": "Approvals awaited, deadlines at risk and demands to send on {date}"},
    "daily.risks_description": {"zh": "{date} 进入提前期的法定期限", "en": "Legal deadlines within their lead days on {date}"},
    "daily.nothing_urgent": {"zh": "无紧急事项", "en": "nothing urgent"},
    # --- the approval form a manager answers on "Resume" (flows.operation_common._approval_form) -----
    "approval.form": {
        "zh": "**{requested_by}** 申请将贷款 **{loan_id}** 从 **{state}** 变更为 **{to}**。\n\n理由：{reason}\n\n"
              "余额 {balance} · 逾期 {dpd} 天 · 五级分类 {classification}。\n\n"
              "须由第二人决定：选择 *approve*（批准）或 *reject*（拒绝），并填写您的工号。申请人不能审批自己的申请。",
        "en": "**{requested_by}** asks to move loan **{loan_id}** from **{state}** to **{to}**.\n\nReason: {reason}\n\n"
              "Balance {balance} · {dpd} days past due · classification {classification}.\n\n"
              "A second person must decide: choose *approve* or *reject* and give your operator id. "
              "The requester cannot approve their own request.",
    },
    "approval.decision": {"zh": "approve（批准）或 reject（拒绝）", "en": "approve or reject"},
    "approval.otp": {"zh": "您当前的一次性密码（如已登记）", "en": "your current one-time password (if you are enrolled)"},
    "approval.comment": {"zh": "与决定一并记入案件历史", "en": "kept in the case history with the decision"},
    # --- the demand letters' batch (flows.letters) ---------------------------------------------------
    "letters.title": {"zh": "催收函 {date}", "en": "Demand letters {date}"},
    "letters.none": {"zh": "没有新的到期催收函。", "en": "No new demand letter due."},
    "letters.register": {"zh": "共 {count} 份；登记簿：{xlsx}、{csv}", "en": "{count} letters; register: {xlsx}, {csv}"},
    "letters.letter": {"zh": "函件编号", "en": "letter"},
    # --- an operation's run page (flows.run_page) and its title (flows.operations) ------------------
    "page.title": {"zh": "{loan_id}：{title}", "en": "{loan_id}: {title}"},
    "page.already": {"zh": "**已经登记过**：使用同一幂等键的早先一次运行已登记，本次没有重复入账；以下是当时登记的内容。",
                     "en": "**Already recorded** by an earlier try with the same key: nothing was booked again; this is what was recorded."},
    "page.recorded": {"zh": "已登记", "en": "Recorded"},
    "page.allocation": {"zh": "还款分配", "en": "Allocation"},
    "page.balance_after": {"zh": "{date} 还款后余额：**{total}**", "en": "Balance after the payment on {date}: **{total}**"},
    "page.warning": {"zh": "注意", "en": "Warning"},
    "page.case_now": {"zh": "案件现状", "en": "The case now"},
    "page.balance": {"zh": "**余额**（截至 {date}）：**{total}** = 本金 {principal} + 利息 {interest} + 罚息 {penalty} + 费用 {costs} + 复利 {compound} + 迟延履行利息 {delayed}",
                     "en": "**Balance** as of {date}: **{total}** = principal {principal} + interest {interest} + penalty {penalty} + costs {costs}"
                           " + compound {compound} + delayed {delayed}"},
    "page.next_deadline": {"zh": "下一个期限", "en": "Next deadline"},
    "op.payment": {"zh": "还款 {amount}（付款人 {payer}）", "en": "payment {amount} by {payer}"},
    "op.visit": {"zh": "走访：{outcome}", "en": "visit: {outcome}"},
    "op.demand": {"zh": "向{party}发出书面催收", "en": "written demand on {party}"},
    "op.filing": {"zh": "已向 {court} 提交 {kind}", "en": "{kind} filed with {court}"},
    "op.cost": {"zh": "费用 {amount}（{what}）", "en": "cost {amount} ({what})"},
    "op.plan": {"zh": "分期协议：每月 {monthly}", "en": "installment plan {monthly} a month"},
    "op.judgment": {"zh": "判决金额 {amount}", "en": "judgment {amount}"},
    "op.enforcement": {"zh": "强制执行申请", "en": "enforcement application"},
    "op.take_asset": {"zh": "以物抵债：资产 {asset} 作价 {value}", "en": "asset {asset} taken at {value}"},
    "op.dispose_asset": {"zh": "抵债资产 {asset} 已处置", "en": "asset {asset} disposed of"},
    "op.classify": {"zh": "认定为 {to}", "en": "classified {to}"},
    "op.moved": {"zh": "状态变更 {source} → {to}", "en": "moved {source} → {to}"},
    "op.rejected": {"zh": "变更为 {to} 的申请已被 {by} 拒绝", "en": "request to move to {to} rejected by {by}"},
    # --- the deployments' forms (flows.forms): descriptions of the deployments and their fields ----
    "form.by": {"zh": "您的工号", "en": "your operator id"},
    "form.key": {"zh": "幂等键（默认：本次运行的编号，重试不会重复入账）", "en": "idempotency key (default: this run's id, so a Retry books nothing twice)"},
    "form.key_records": {"zh": "幂等键（默认：本次运行的编号，重试不会重复记录）", "en": "idempotency key (default: this run's id, so a Retry records nothing twice)"},
    "form.key_escalation": {"zh": "幂等键（默认：本次运行的编号，重试既不会再次申请，也不会重复变更）", "en": "idempotency key (default: this run's id, so a Retry neither asks again nor moves twice)"},
    "form.reason": {"zh": "理由（记入案件历史）", "en": "why (kept in the case history)"},
    "form.escalation_to": {"zh": "案件要变更到的状态", "en": "the state to move the case to"},
    "form.escalation_on": {"zh": "变更的营业日（默认：每日批处理最近处理的营业日）", "en": "business date of the move (default: the last date the daily run covered)"},
    "form.credit": {"zh": "追加的授信金额（仅用于盘活重组）", "en": "further credit granted (revitalization only)"},
    "form.payment_amount": {"zh": "收到的金额（元，例如 1000.00）", "en": "the amount received (yuan, e.g. 1000.00)"},
    "form.payment_on": {"zh": "收款日期（默认：每日批处理最近处理的营业日）", "en": "date received (default: the last date the daily run covered)"},
    "form.payer": {"zh": "付款人：borrower（借款人）、court（法院）或 guarantor:姓名（保证人）", "en": "borrower, court, or guarantor:NAME"},
    "form.outcome": {"zh": "走访结果", "en": "what came of it"},
    "form.visit_on": {"zh": "走访日期（默认：每日批处理最近处理的营业日）", "en": "date of the visit (default: the last date the daily run covered)"},
    "form.promise_amount": {"zh": "承诺还款金额（仅结果为 promise 时填写）", "en": "amount promised (outcome promise only)"},
    "form.promise_date": {"zh": "承诺还款日期（仅结果为 promise 时填写）", "en": "date promised (outcome promise only)"},
    "form.employer": {"zh": "在借款人的工作单位走访", "en": "the visit was made at the borrower's employer"},
    "form.demand_on": {"zh": "催收生效之日：签收、送达或公告之日（默认：每日批处理最近处理的营业日）", "en": "the day the demand took effect: signed for, arrived, published (default: the last date the daily run covered)"},
    "form.guarantor": {"zh": "保证人姓名；向借款人催收时留空", "en": "the guarantor's name; empty for a demand on the borrower"},
    "form.demand_method": {"zh": "方式：in_person（当面）、mail（邮寄）、electronic（电子）、announcement（公告）或 deduction（扣划）", "en": "in_person, mail, electronic, announcement or deduction"},
    "form.tracking": {"zh": "证据：邮件追踪号或回执编号", "en": "the evidence: mail tracking or receipt number"},
    "form.filing_on": {"zh": "法院（或仲裁委员会）收到起诉材料之日", "en": "the day the court (or arbitration commission) received the filing"},
    "form.court": {"zh": "法院名称", "en": "the court's name"},
    "form.case_no": {"zh": "法院案号（如有）", "en": "the court's case number, if given"},
    "form.filing_kind": {"zh": "类别：suit（起诉）、payment_order（支付令）、preservation（保全）或 arbitration（仲裁）", "en": "suit, payment_order, preservation or arbitration"},
    "form.cost_amount": {"zh": "支付的金额", "en": "the amount paid"},
    "form.what": {"zh": "费用项目，例如诉讼费", "en": "what it was, e.g. court fee"},
    "form.cost_on": {"zh": "支付日期（默认：每日批处理最近处理的营业日）", "en": "date paid (default: the last date the daily run covered)"},
    "form.monthly": {"zh": "每月还款额", "en": "the monthly installment"},
    "form.first_due": {"zh": "首期还款到期日", "en": "the date the first installment falls due"},
    "form.plan_on": {"zh": "签约日期（默认：每日批处理最近处理的营业日）", "en": "signing date (default: the last date the daily run covered)"},
    "form.judgment_amount": {"zh": "判决金额", "en": "the amount awarded"},
    "form.perform_by": {"zh": "判决确定的履行期限", "en": "the date by which the judgment must be performed"},
    "form.judgment_on": {"zh": "判决日期（默认：每日批处理最近处理的营业日）", "en": "date of the judgment (default: the last date the daily run covered)"},
    "form.enforcement_on": {"zh": "申请日期（默认：每日批处理最近处理的营业日）", "en": "date of the application (default: the last date the daily run covered)"},
    "form.asset": {"zh": "抵押物的资产编号，例如 A-YANG-FACTORY", "en": "the collateral's asset id, e.g. A-YANG-FACTORY"},
    "form.value": {"zh": "抵债作价", "en": "the agreed value the asset settles"},
    "form.take_on": {"zh": "接收日期（默认：每日批处理最近处理的营业日）", "en": "date taken (default: the last date the daily run covered)"},
    "form.asset_payer": {"zh": "借款人的资产留空；保证人的资产填 guarantor:姓名", "en": "empty for the borrower's asset; guarantor:NAME for a guarantor's"},
    "form.dispose_loan_id": {"zh": "该资产所抵偿的贷款", "en": "the loan the asset was taken for"},
    "form.asset_id": {"zh": "资产编号", "en": "the asset id"},
    "form.dispose_on": {"zh": "出售日期（默认：每日批处理最近处理的营业日）", "en": "date of the sale (default: the last date the daily run covered)"},
    "form.proceeds": {"zh": "出售所得（仅作记录）", "en": "what the sale brought, for the record"},
    "form.classify_to": {"zh": "经办人认定的五级分类", "en": "the category staff judge the loan to be in"},
    "form.classify_reason": {"zh": "理由（记入案件行动）", "en": "why (kept in the case's actions)"},
    "form.approved_by": {"zh": "审批经理的工号（不能是您本人）", "en": "the approving manager's operator id (not yours)"},
    "form.otp": {"zh": "审批人的一次性密码（如已登记）", "en": "the approver's one-time password, if enrolled"},
    "form.classify_on": {"zh": "认定日期（默认：每日批处理最近处理的营业日）", "en": "date of the judgement (default: the last date the daily run covered)"},
    "form.letters_as_of": {"zh": "营业日（须已运行）：为当日的“发送催收函”任务生成催收函", "en": "the business date (already run) whose send_demand tasks get letters"},
    "form.letter_no": {"zh": "催收函编号，例如 NPL-20081130-0001", "en": "the letter's number, e.g. NPL-20081130-0001"},
    "form.service_on": {"zh": "送达对方之日（签收、到达或公告）", "en": "the day it reached the party (signed for, arrived, published)"},
    "form.service_method": {"zh": "方式：in_person、mail、electronic 或 announcement", "en": "in_person, mail, electronic or announcement"},
    "form.service_tracking": {"zh": "邮件追踪号或回执编号", "en": "the mail tracking or receipt number"},
    "form.policy_toml": {"zh": "挑战者策略（TOML 文本）；可只含部分策略键，例如 `[limits]` `visit = 10`", "en": "the challenger policy as TOML text; any subset of the policy keys, e.g. `[limits]` `visit = 10`"},
    "form.date_from": {"zh": "从该营业日的账簿状态开始分支", "en": "branch from the book as it stood on this business date"},
    "form.date_to": {"zh": "重放到该营业日", "en": "replay to this business date"},
    "form.daily_as_of": {"zh": "营业日（默认：分行所在时区的今天）", "en": "the business date (default: today in the branch's time zone)"},
    "form.through": {"zh": "逐日运行到该营业日（默认：as_of）", "en": "run every business date up to this one (default: as_of)"},
    "form.publish": {"zh": "发布汇总、工作清单与期限表", "en": "publish the summary, the worklists and the deadlines"},
    "form.wait_for_export": {"zh": "先等待夜间数据文件（最多为策略中 [feed] wait_minutes 的分钟数）", "en": "wait for the night's export first (up to the policy's [feed] wait_minutes)"},
    "form.folder": {"zh": "收件箱内的子文件夹名（默认：收件箱本身）", "en": "a folder inside the inbox, by name (default: the inbox itself)"},
    "form.files": {"zh": "只导入该文件夹中的这些文件（文件名，不含路径）", "en": "only these files of that folder, by name (no paths)"},
    "form.business_date": {"zh": "随文件记录的营业日（默认：最近一次运行的次日）", "en": "the date recorded with the files (default: the day after the last run)"},
    "form.report_as_of": {"zh": "报告的营业日（默认：最近一次运行的营业日）", "en": "the business date of the report (default: the last one run)"},
    "form.xlsx": {"zh": "仅供命令行使用：从界面运行时，工作簿总是写入服务进程的报表文件夹", "en": "the command line's --xlsx only: run from the UI, the workbook always goes to the served reports folder"},
    "deploy.daily": {"zh": "每个营业日的每日催收批处理（按顺序补跑遗漏的日期）。", "en": "The daily collection run for each business date (catches up missed dates in order)."},
    "deploy.escalation": {"zh": "手工升级；诉讼、核销和盘活重组须等待第二人审批。", "en": "Manual escalation; litigation, write-off and revitalization wait for a second person's approval."},
    "deploy.payment": {"zh": "登记一笔还款：依次冲抵费用、罚息、利息和本金，余额为零时结案。", "en": "Record a payment; it pays costs, then penalty, interest and principal, and closes the case at zero."},
    "deploy.visit": {"zh": "登记一次上门或营业场所走访，或在借款人工作单位的走访。", "en": "Record a home or business visit, or one at the borrower's employer."},
    "deploy.demand": {"zh": "登记对借款人或保证人的一次催收，自所填日期生效。", "en": "Record a demand on the borrower or on a guarantor that took effect on the date given."},
    "deploy.filing": {"zh": "登记对借款人的起诉（案件须已处于诉讼状态：经审批的决定）。", "en": "Record a filing against the borrower (the case must be in litigation: an approved decision)."},
    "deploy.cost": {"zh": "登记银行为案件垫付的可追偿费用（诉讼费、保全费、评估费）：由借款人承担，还款时优先冲抵。", "en": "Record a recoverable cost the bank paid on the case (court or preservation fee, appraisal): the borrower owes it and payments settle it first."},
    "deploy.plan": {"zh": "按签约日的余额签订分期还款协议。", "en": "Sign an installment agreement for the balance on the signing date."},
    "deploy.judgment": {"zh": "登记诉讼中案件的法院判决。", "en": "Record a court judgment for a case in litigation."},
    "deploy.enforcement": {"zh": "登记对最近一份判决申请法院强制执行。", "en": "Record the application for court enforcement of the latest judgment."},
    "deploy.take_asset": {"zh": "以物抵债：银行按约定价值接收抵押物，该价值如同资产所有人的还款冲抵债务；资产须在两年内处置（每日批处理自到期前 90 天起列出）。", "en": "Settlement in kind: the bank takes a collateral asset at an agreed value; the value pays the debt like a payment by the asset's owner, and the asset must be disposed of within two years (the daily run lists it from 90 days before)."},
    "deploy.dispose_asset": {"zh": "登记银行抵债资产的出售；其处置期限随之停止。", "en": "Record the sale of an asset the bank took in settlement; its disposal deadline stops."},
    "deploy.classify": {"zh": "经办人对贷款五级分类的认定：只能比下限更差，不能更好（否则拒绝并说明下限）；须第二人审批。", "en": "Staff judgement on a loan's classification: worse than its floor only, never better (refused naming the floor); a second person approves."},
    "deploy.ingest": {"zh": "手工导入夜间数据收件箱（或其中的子文件夹、指定的文件）。", "en": "Ingest the nightly feed's inbox (or a folder in it, or named files of it) by hand."},
    "deploy.letters": {"zh": "为某营业日到期的催收生成催收函：每份一个 PDF 及批次登记簿，写入服务进程的催收函文件夹。", "en": "Generate the demand letters due on a business date: a PDF each and the batch register, into the served process's letters folder."},
    "deploy.service": {"zh": "登记催收函已送达：以函件编号为证据的一次催收。", "en": "Record that a demand letter was served: a demand act with the letter's number as evidence."},
    "deploy.replay": {"zh": "在挑战者策略与现行策略下，将账簿从 date_from 重放到 date_to 并加以比较。", "en": "Replay the book from date_from to date_to under a challenger policy and the policy in force, and compare them."},
    "deploy.report": {"zh": "截至某营业日的资产组合报告（默认：最近一次运行的营业日）：摘要、工作簿与图表。", "en": "The portfolio report as of a business date (default: the last one run): a summary, the workbook and the charts."},
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
    # --- the policy replay's markdown (services.replay_report.markdown) ---------------------------
    "replay.title": {"zh": "策略重放 {date_from} → {date_to}", "en": "Policy replay {date_from} → {date_to}"},
    "replay.description": {"zh": "现行策略与挑战者策略对比，{date_from} → {date_to}", "en": "champion vs challenger, {date_from} → {date_to}"},
    "replay.metric": {"zh": "指标", "en": "metric"},
    "replay.champion": {"zh": "现行策略", "en": "champion"},
    "replay.challenger": {"zh": "挑战者策略", "en": "challenger"},
    "replay.difference": {"zh": "差异", "en": "difference"},
    "replay.would_be_due": {"zh": "挑战者策略希望比历史更早进行的行动：{count}", "en": "Acts the challenger would want earlier than history: {count}"},
    "replay.per_week": {"zh": "按周（图表数据）", "en": "Per week (the chart's numbers)"},
    "replay.week": {"zh": "周", "en": "week"},
    "replay.tasks_champion": {"zh": "任务（现行）", "en": "tasks champion"},
    "replay.tasks_challenger": {"zh": "任务（挑战者）", "en": "tasks challenger"},
    "replay.at_risk_champion": {"zh": "临近届满（现行）", "en": "at risk champion"},
    "replay.at_risk_challenger": {"zh": "临近届满（挑战者）", "en": "at risk challenger"},
    "replay.limits": {"zh": "局限", "en": "Limits"},
    "replay.limit_behaviour": {
        "zh": '借款人的行为保持不变：还款、承诺与走访结果按其登记日期发生，无论挑战者策略会如何行事；结清仍是对重放案件所欠金额的结清。',
        "en": "Borrowers' behaviour is held fixed: payments, promises and visit outcomes happen on their recorded dates, whatever the challenger would have done; a pay-off stays a pay-off of what the replayed case owed.",
    },
    "replay.limit_skipped": {
        "zh": '重放案件已不允许的经办人行动（从案件当前并不处于的状态发起的变更、对未在诉讼中的案件登记判决）将被跳过并计数，绝不强行执行。',
        "en": "An operator's act that the replayed case no longer allows (a move from a state it is not in, a judgment on a case not in litigation) is skipped and counted, never forced.",
    },
    "replay.limit_would_be_due": {
        "zh": '挑战者策略希望比历史更早进行的变更，按其日期计为“应于某日到期”；不会虚构任何经办人行动。',
        "en": 'Moves the challenger would want earlier than history has them are counted as "would be due on" their date; no operator act is invented.',
    },
    "replay.limit_rebuilt": {
        "zh": '账簿按首次导入时的样子重建：余额由登记的还款推回；贷款首笔还款之前所欠利息视为该笔还款所冲抵的利息，因此此前的余额可能有偏差（状态变更、天数与工作量不受其影响）。分期协议下因漏缴一期而设定的逾期日期，由重放的协议重新设定；盘活重组贷款由重放的盘活重组按其登记的金额、利率和到期日重新入账。',
        "en": "The book is rebuilt as first imported: balances are recovered from the recorded payments; interest owed before a loan's first payment is taken as what that payment settled of it, so balances before it can be off (transitions, days and workload do not depend on them). An overdue date set by an installment missed under an agreement is left to the replayed agreement to set again; a revitalization credit's loan is booked again by the replayed revitalization, with its recorded amount, rate and maturity.",
    },
    "replay.limit_later_imports": {
        "zh": '后续导入新增的贷款，视为自第一个营业日起即已在册而重放；对贷款的重新导入变更（新条款、新逾期日期）按其最新值重放。',
        "en": 'Loans added by a later import are replayed as if on file from the first business date; re-imported changes to a loan (new terms, new overdue dates) are replayed as their latest values.',
    },
    "replay.limit_time_of_day": {
        "zh": '同一日期内，源数据在各表之间不保留具体时刻：行动在当日运行之后执行，先变更，后资金。',
        "en": "Within one date the source keeps no time of day across tables: acts are applied after that date's run, moves first, money last.",
    },
    "replay.limit_workload": {
        "zh": '工作量统计策略交给分行的任务（待发送的催收函——每个催收到期的当事人一份，等待送达期间不再重复——、转入走访的案件、申请的审批），按负责的客户经理与 ISO 周统计；不计客户经理花在这些任务上的时间。催收函任务在一周内跟随案件状态的变化（诉讼中催收变为起诉）。',
        "en": "Workload counts the tasks the policy gives the branch (demand letters to send — one per party whose demand falls due, not again while it awaits service —, cases sent to visit, approvals asked), per officer responsible and ISO week; not the time an officer spends on them. A demand letter's task follows a change of the case's state (a demand becoming a filing in litigation) within a week.",
    },
    "replay.limit_from": {
        "zh": '截至 --from 的账簿，是在现行策略下从账簿第一个营业日起重放已登记的历史而得（数据库只保存每个案件的现状，而非当时的状态）：历史越长，代价越大，需再耗费一遍。',
        "en": "The book as of --from is made by replaying the recorded history from the book's first business date under the policy in force (the database keeps each case as it stands now, not as it stood then): a long history costs its length once more.",
    },
    "metric.entered": {"zh": "进入各阶段", "en": "entered"},
    "metric.entered_total": {"zh": "进入合计", "en": "entered in all"},
    "metric.days_from_due": {"zh": "自到期起天数", "en": "days from due"},
    "metric.median": {"zh": "中位数", "en": "median"},
    "metric.p90": {"zh": "90 分位", "en": "90th percentile"},
    "metric.tasks": {"zh": "任务量", "en": "tasks"},
    "metric.letters": {"zh": "催收函", "en": "letters"},
    "metric.visits": {"zh": "走访", "en": "visits sent"},
    "metric.approvals": {"zh": "审批", "en": "approvals"},
    "metric.tasks_per_officer_week": {"zh": "每名客户经理每周任务", "en": "tasks per officer-week"},
    "metric.officer_weeks": {"zh": "客户经理·周数", "en": "officer-weeks"},
    "metric.mean": {"zh": "平均", "en": "mean"},
    "metric.max": {"zh": "最大", "en": "max"},
    "metric.approvals_needed": {"zh": "需审批", "en": "approvals needed"},
    "metric.deadlines": {"zh": "法定期限", "en": "deadlines"},
    "metric.at_risk_at_end": {"zh": "期末临近届满", "en": "at risk at the end"},
    "metric.at_risk_weekly_max": {"zh": "每周临近届满最多", "en": "most at risk in a week"},
    "metric.guarantee_period": {"zh": "保证期间", "en": "guarantee period"},
    "metric.limitation": {"zh": "诉讼时效", "en": "limitation period"},
    "metric.classification_at_end": {"zh": "期末五级分类", "en": "classification at the end"},
    "metric.acts_applied": {"zh": "已执行的登记行动", "en": "recorded acts applied"},
    "metric.acts_capped": {"zh": "受限的登记行动", "en": "recorded acts capped"},
    "metric.acts_skipped": {"zh": "跳过的登记行动", "en": "recorded acts skipped"},
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


def task_label(task: str, language: str | None = None) -> str:
    return t_in(language or lang(), f"task.{task}")


def detail_text(item: dict[str, object], language: str | None = None) -> str:
    """An item's detail in the chosen language (or ``language``, when a caller translating tens of
    thousands of items has read it once): its ``detail_parts`` (services.worklist) as labels
    joined in order; the English ``detail`` where the item carries none."""
    parts = item.get("detail_parts")
    if not parts or not isinstance(parts, list):
        return str(item.get("detail") or "")
    language = language or lang()
    return "".join(t_in(language, key, **values) for key, values in parts)


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
