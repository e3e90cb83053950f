"""The single-case commands: a payment, a visit, a demand, a filing, an escalation… on one loan,
and `show` / `explain` to read one."""

from __future__ import annotations

from typing import Any, Optional

import typer

from flows.cli_common import DbOption, KeyOption, OtpOption, amount, app, day, emit, perform, rate_fraction, run, uow
from flows.present import jsonable

# --- single-case commands ----------------------------------------------------------------------------
# Each calls one service through `perform` (a unit of work, the project's errors as one line and
# an exit code) and prints the typed result through flows.present (money and dates formatted here).

PAYMENT_FLAGS = {"amount": "AMOUNT"}  # the amount is the command's argument, not an option


@app.command(context_settings={"ignore_unknown_options": True})
def pay(loan_id: str, amount_text: str = typer.Argument(..., metavar="AMOUNT"),
        on: Optional[str] = typer.Option(None, "--on", help="Payment date (default: last business date run)."),
        payer: str = typer.Option("borrower", "--payer", help="borrower | guarantor:NAME | court"),
        by: str = typer.Option("operator", "--by", help="Operator recording the payment."),
        json_out: bool = typer.Option(False, "--json"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a payment and print its allocation (costs → penalty → compound → interest → principal → delayed)."""
    from services import cases

    res = jsonable(perform(db, cases.pay, loan_id, amount(amount_text, "AMOUNT"), on=day(on, "--on"), payer=payer, by=by,
                           flags=PAYMENT_FLAGS, key=key))
    if json_out:
        emit(res)
        return
    a = res["allocation"]
    typer.echo(f"{res['loan_id']}: paid {res['amount']} on {res['paid_on']} by {res['payer']}")
    typer.echo(f"  costs {a['costs']}  penalty {a['penalty']}  interest {a['interest']}  principal {a['principal']}"
               f"  compound {a['compound']}  delayed {a['delayed']}")
    typer.echo(f"  balance now {res['balance_after']['total']}; state {res['state']}" + (f" ({res['closed_reason']})" if res["closed_reason"] else ""))


@app.command()
def visit(loan_id: str, on: Optional[str] = typer.Option(None, "--on"),
          outcome: str = typer.Option(..., "--outcome", help="contacted | promise | refused | not_found"),
          promise_amount: Optional[str] = typer.Option(None, "--promise-amount"),
          promise_date: Optional[str] = typer.Option(None, "--promise-date"),
          employer: bool = typer.Option(False, "--employer", help="The visit was made at the borrower's unit."),
          by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a visit (home, business, or the borrower's unit) and any promise to pay."""
    from services import cases

    res = jsonable(perform(db, cases.visit, loan_id, on=day(on, "--on"), outcome=outcome,
                           promise_amount=amount(promise_amount, "--promise-amount"),
                           promise_date=day(promise_date, "--promise-date"), employer=employer, by=by, key=key))
    typer.echo(f"{loan_id}: {res['kind']} on {res['on']}: {res['outcome']}")


@app.command()
def demand(loan_id: str, on: Optional[str] = typer.Option(None, "--on"),
           guarantor: Optional[str] = typer.Option(None, "--guarantor", help="Demand on this guarantor (default: the borrower)."),
           method: str = typer.Option("in_person", "--method",
                                      help="How it took effect: in_person, mail, electronic, announcement or deduction."),
           tracking: Optional[str] = typer.Option(None, "--tracking", help="The evidence: mail tracking or receipt number."),
           by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a demand on the borrower or a guarantor that took effect on --on (signed for,
    arrived, published): a legal act with its evidence."""
    from services import cases

    res = jsonable(perform(db, cases.demand, loan_id, on=day(on, "--on"), guarantor=guarantor, by=by, key=key,
                           method=method, tracking=tracking))
    typer.echo(f"{loan_id}: written demand on {res['demand_on']} recorded for {res['on']}")


@app.command("file-suit")
def file_suit(loan_id: str, on: str = typer.Option(..., "--on", help="The day the court received the filing."),
              court: str = typer.Option(..., "--court"), case_no: Optional[str] = typer.Option(None, "--case-no"),
              kind: str = typer.Option("suit", "--kind", help="suit, payment_order, preservation or arbitration."),
              by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a filing against the borrower (needs the case in litigation: an approved decision)."""
    from services import acts

    res = jsonable(perform(db, acts.file_suit, loan_id, on=day(on, "--on"), court=court, case_no=case_no, kind=kind, by=by, key=key))
    number = f" case {res['case_no']}" if res["case_no"] else ""
    typer.echo(f"{loan_id}: {res['kind']} filed with {res['court']}{number} on {res['on']}")


@app.command("enforcement-ended")
def enforcement_ended(loan_id: str, on: str = typer.Option(..., "--on", help="The day the ruling was delivered to the bank."),
                      by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record the court's ruling ending the current enforcement, delivered to the bank."""
    from services import acts

    res = jsonable(perform(db, acts.enforcement_ended, loan_id, on=day(on, "--on"), by=by, key=key))
    typer.echo(f"{loan_id}: ruling ending enforcement delivered on {res['on']}")


@app.command(context_settings={"ignore_unknown_options": True})
def cost(loan_id: str, amount_text: str = typer.Argument(..., metavar="AMOUNT"),
         what: str = typer.Option(..., "--what", help="What the bank paid: court fee, preservation fee, appraisal…"),
         on: Optional[str] = typer.Option(None, "--on"), by: str = typer.Option(..., "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a recoverable cost paid on the case; it is owed by the borrower and paid first."""
    from services import cases

    res = jsonable(perform(db, cases.cost, loan_id, amount(amount_text, "AMOUNT"), what=what, on=day(on, "--on"), by=by,
                           flags=PAYMENT_FLAGS, key=key))
    typer.echo(f"{loan_id}: cost {res['cost']} ({res['what']}) on {res['on']}; costs owed now {res['costs_owed']}")


@app.command()
def plan(loan_id: str, monthly: str = typer.Option(..., "--monthly"), first_due: str = typer.Option(..., "--first-due"),
         on: Optional[str] = typer.Option(None, "--on"), by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Sign an installment agreement for the balance on the signing date."""
    from services import escalations

    res = jsonable(perform(db, escalations.plan, loan_id, monthly=amount(monthly, "--monthly"),
                           first_due=day(first_due, "--first-due"), on=day(on, "--on"), by=by, key=key))
    typer.echo(f"{loan_id}: {res['from']} → {res['to']}: {res['lines']} installments, total {res['total']}, last due {res['last_due']}")
    for w in res["warnings"]:
        typer.echo(f"warning: {w}", err=True)


@app.command()
def escalate(loan_id: str, to: str = typer.Option(..., "--to"), reason: str = typer.Option(..., "--reason"),
             by: str = typer.Option(..., "--by"), on: Optional[str] = typer.Option(None, "--on"),
             approved_by: Optional[str] = typer.Option(None, "--approved-by"), otp: Optional[str] = OtpOption,
             key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Manual escalation; refused (exit 1, nothing changed) where the machine forbids it or an approval is missing."""
    from services import escalations

    res = jsonable(perform(db, escalations.escalate, loan_id, to=to, reason=reason, by=by, on=day(on, "--on"), approved_by=approved_by, otp=otp,
                           key=key))
    typer.echo(f"{loan_id}: {res['from']} → {res['to']} by {res['by']}" + (f", approved by {res['approved_by']}" if res["approved_by"] else ""))


@app.command()
def freeze(loan_id: str, on: Optional[str] = typer.Option(None, "--on"), asset: Optional[str] = typer.Option(None, "--asset"),
           guarantor: Optional[str] = typer.Option(None, "--guarantor"), authority: Optional[str] = typer.Option(None, "--authority"),
           by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a freeze / seal of collateral or a guarantor's account through the enforcement authority."""
    from services import cases

    res = jsonable(perform(db, cases.freeze, loan_id, on=day(on, "--on"), asset=asset, guarantor=guarantor, authority=authority, by=by, key=key))
    typer.echo(f"{loan_id}: {res['frozen']} frozen on {res['on']}" + (f" through {res['authority']}" if res["authority"] else ""))


@app.command("take-asset")
def take_asset(loan_id: str, asset: str = typer.Option(..., "--asset", help="The collateral's asset id."),
               value: str = typer.Option(..., "--value", help="The agreed value the asset settles (decimal text)."),
               on: Optional[str] = typer.Option(None, "--on"),
               payer: Optional[str] = typer.Option(None, "--payer", help="borrower | guarantor:NAME (default: the borrower, for the borrower's asset)"),
               by: str = typer.Option(..., "--by"), json_out: bool = typer.Option(False, "--json"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Settlement in kind: the bank takes a collateral asset at an agreed value; its two-year disposal clock starts."""
    from services import cases

    res = jsonable(perform(db, cases.take_asset, loan_id, asset=asset, value=amount(value, "--value"), on=day(on, "--on"),
                           payer=payer, by=by, key=key))
    if json_out:
        emit(res)
        return
    typer.echo(f"{loan_id}: asset {res['asset']} taken in settlement at {res['amount']} on {res['paid_on']}; dispose of it by {res['dispose_by']}")
    typer.echo(f"  balance now {res['balance_after']['total']}; state {res['state']}" + (f" ({res['closed_reason']})" if res["closed_reason"] else ""))


@app.command("dispose-asset")
def dispose_asset(loan_id: str, asset: str = typer.Option(..., "--asset"), on: Optional[str] = typer.Option(None, "--on"),
                  proceeds: Optional[str] = typer.Option(None, "--proceeds", help="What the sale brought (decimal text), for the record."),
                  by: str = typer.Option(..., "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record the sale of an asset the bank took in settlement: its disposal clock stops."""
    from services import cases

    res = jsonable(perform(db, cases.dispose_asset, loan_id, asset=asset, on=day(on, "--on"), proceeds=amount(proceeds, "--proceeds"), by=by, key=key))
    typer.echo(f"{loan_id}: asset {res['asset']} disposed of on {res['disposed_on']}" + (" (after its deadline)" if res["late"] else ""))


@app.command()
def revitalize(loan_id: str, credit: str = typer.Option(..., "--credit"), on: Optional[str] = typer.Option(None, "--on"),
               by: str = typer.Option(..., "--by"), approved_by: str = typer.Option(..., "--approved-by"),
               reason: Optional[str] = typer.Option(None, "--reason"), otp: Optional[str] = OtpOption,
               rate: Optional[str] = typer.Option(None, "--rate", help="Annual rate fraction, e.g. 0.0657 (default: the old loan's)."),
               maturity: Optional[str] = typer.Option(None, "--maturity", help="Due date (default: limits.revitalization_term days after --on)."),
               key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Further credit to a viable borrower (strategy 6), booked as loan LOAN-R<n>; needs the rating threshold and a second person."""
    from services import escalations

    res = jsonable(perform(db, escalations.revitalize, loan_id, credit=amount(credit, "--credit"), on=day(on, "--on"), by=by,
                           approved_by=approved_by, reason=reason, rate=rate_fraction(rate, "--rate"),
                           maturity=day(maturity, "--maturity"), otp=otp, key=key))
    typer.echo(f"{loan_id}: {res['from']} → {res['to']}: further credit {res['credit']} booked as {res['credit_loan_id']} "
               f"at {res['rate']} due {res['maturity_on']}, approved by {res['approved_by']}")


@app.command()
def judgment(loan_id: str, on: Optional[str] = typer.Option(None, "--on"), amount_text: str = typer.Option(..., "--amount"),
             perform_by: str = typer.Option(..., "--perform-by"), by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record a court judgment (its enforcement-application deadline starts from --perform-by)."""
    from services import cases

    res = jsonable(perform(db, cases.judgment, loan_id, on=day(on, "--on"), amount=amount(amount_text, "--amount"),
                           perform_by=day(perform_by, "--perform-by"), by=by, key=key))
    typer.echo(f"{loan_id}: judgment of {res['amount']} on {res['judged_on']}; apply for enforcement by {res['enforcement_apply_by']}")


@app.command()
def enforce(loan_id: str, on: Optional[str] = typer.Option(None, "--on"), by: str = typer.Option("operator", "--by"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Record the application for court enforcement of the judgment."""
    from services import cases

    res = jsonable(perform(db, cases.enforce, loan_id, on=day(on, "--on"), by=by, key=key))
    typer.echo(f"{loan_id}: enforcement applied for on {res['applied_on']}" + (" (after the deadline)" if res["late"] else ""))


@app.command("write-off")
def write_off(loan_id: str, on: Optional[str] = typer.Option(None, "--on"), reason: str = typer.Option(..., "--reason"),
              by: str = typer.Option(..., "--by"), approved_by: str = typer.Option(..., "--approved-by"),
              otp: Optional[str] = OtpOption, key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Close as written off (the claim stays on record); needs a second person's approval."""
    from services import escalations

    res = jsonable(perform(db, escalations.write_off, loan_id, on=day(on, "--on"), reason=reason, by=by, approved_by=approved_by, otp=otp,
                           key=key))
    typer.echo(f"{loan_id}: {res['from']} → closed ({res['closed_reason']}), approved by {res['approved_by']}")


@app.command()
def classify(loan_id: str, to: str = typer.Option(..., "--to", help="normal, special_mention, substandard, doubtful or loss."),
             reason: str = typer.Option(..., "--reason"), by: str = typer.Option(..., "--by"),
             approved_by: str = typer.Option(..., "--approved-by"), otp: Optional[str] = typer.Option(None, "--otp"),
             on: Optional[str] = typer.Option(None, "--on"), key: Optional[str] = KeyOption, db: Optional[str] = DbOption) -> None:
    """Staff judgement: classify worse than the floor (never better); needs a second person's approval."""
    from services import judgement

    res = jsonable(perform(db, judgement.classify, loan_id, to=to, reason=reason, by=by, approved_by=approved_by, otp=otp,
                           on=day(on, "--on"), key=key))
    typer.echo(f"{loan_id}: {res['from']} → {res['to']} (floor {res['floor']}), approved by {res['approved_by']}")


@app.command()
def show(loan_id: str, json_out: bool = typer.Option(False, "--json"),
         reveal: bool = typer.Option(False, "--reveal-personal-data", help="Show full id and phone numbers (masked by default)."),
         db: Optional[str] = DbOption) -> None:
    """One case: state, classification, balance, deadlines, history."""
    from services import case_view

    res = jsonable(perform(db, case_view.show, loan_id, reveal=reveal))
    if json_out:
        emit(res)
        return
    b, d = res["balance"], res["deadlines"]
    typer.echo(f"{res['loan_id']}  {res['borrower']['name']}  [{res['state']}{' / ' + res['closed_reason'] if res['closed_reason'] else ''}]")
    classified = res["classification"] or f"closed as {res['classification_at_close']}"
    typer.echo(f"  as of {res['as_of']}: {classified}, {res['dpd']} days past due; assigned to {res['assigned_to']}")
    if res["restructured"]:
        r = res["restructured"]
        typer.echo(f"  restructured {r['on']}: observed {r['observation_from']} to {r['observation_until']}, floor {r['floor']}")
    typer.echo(f"  balance {b['total']} = principal {b['principal']} + interest {b['interest']} + penalty {b['penalty']} + costs {b['costs']}"
               f" + compound {b['compound']} + delayed {b['delayed']}")
    typer.echo(f"  state deadline {d['state_deadline']}; limitation ends {d['limitation_end']}; enforcement apply by {d['enforcement_apply_by']}")
    for g in d["guarantees"]:
        typer.echo(f"  guarantor {g['guarantor']} ({g['type']}): period ends {g['period_end']}, demanded {g['demanded_on']}")
    if res["awaiting_approval"]:
        typer.echo(f"  AWAITING APPROVAL: {res['awaiting_approval']}{' (URGENT)' if res['urgent'] else ''}: {res['awaiting_reason']}")
    typer.echo("  history:")
    for h in res["history"]:
        extra = f", approved by {h['approved_by']}" if h["approved_by"] else ""
        typer.echo(f"    {h['on']}  {h['from']} → {h['to']} ({h['event']}) by {h['by']}{extra}: {h['reason']}")
    if res["payments"]:
        typer.echo("  payments:")
    for p in res["payments"]:
        a = p["allocation"]
        typer.echo(f"    {p['on']}  {p['amount']} from {p['payer']}: costs {a['costs']}, penalty {a['penalty']}, "
                   f"interest {a['interest']}, principal {a['principal']}, compound {a['compound']}, delayed {a['delayed']}"
                   + (f" (ref {p['reference']})" if p["reference"] else ""))
    if res["actions"]:
        typer.echo("  actions:")
    for act in res["actions"]:
        said = ", ".join(str(v) for v in (act["target"], act["outcome"], act["status"], act["amount"], act["due_on"]) if v)
        typer.echo(f"    {act['on']}  {act['kind']} by {act['by']}" + (f": {said}" if said else "")
                   + (f" — {act['detail']}" if act["detail"] else ""))


@app.command()
def explain(loan_id: str, as_of: Optional[str] = typer.Option(None, "--as-of", help="Look forward from this business date (default: the last one run)."),
            json_out: bool = typer.Option(False, "--json"), db: Optional[str] = DbOption) -> None:
    """What the coming daily runs will do to a case: each event's date, rule, who acts, and what would change it."""
    from services.explain import explain as explain_case

    on = day(as_of, "--as-of")

    def go() -> Any:
        with uow(db) as u:
            return explain_case(u, loan_id, as_of=on).as_dict()

    res = run(go)
    if json_out:
        emit(res)
        return
    typer.echo(f"{res['loan_id']}  [{res['state']}]  coming events after {res['as_of']} (looking to {res['until']}), if nobody acts:")
    if not res["events"]:
        typer.echo("  none")
    for e in res["events"]:
        typer.echo(f"  {e['on']}  {e['kind']:<5} {e['who']:<7} {e['does']}")
        typer.echo(f"              rule {e['rule']} ({e['basis']})")
        if e["unless"]:
            typer.echo(f"              unless {e['unless']}")
