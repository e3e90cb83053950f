"""What operations staff do in the Prefect UI, in a real headless Chromium (Debian's, driven by
Playwright) against the session's Prefect server and its served deployments:

- find the day's ``daily-collection`` run and read its summary artifact;
- an officer finds their work for the day in two clicks from the Artifacts page;
- open the ``manual-escalation/ops`` deployment's run form;
- a manager answers, from the one ``pending-approvals`` list, a request the daily run made and an
  officer's request, in the Resume form, and both cases move;
- "Retry" on a payment's run page books nothing twice.

Screenshots go to each test's ``tmp_path``; with ``NPL_DOCS_SCREENSHOTS=1`` they are also copied
to ``docs/ops-*.png`` (refresh them deliberately, not on every run).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment

from flows.daily import daily_collection
from models.store import UnitOfWork
from flows.present import jsonable
from services import cases
from services.importing import import_paths
from tests.prefect_server import AUTH, serve_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AS_OF = date(2008, 9, 30)
LOANS_CSV = """\
loan_id,borrower_name,principal,annual_rate,disbursed_on,maturity_on,outstanding_principal,officer_id,product,credit_rating
L-UI-1,Gao,80000.00,0.0747,2007-06-30,2008-06-30,80000.00,E-01,business,BB
L-UI-2,Lin,50000.00,0.0612,2007-09-30,2008-09-30,50000.00,E-01,business,BB
L-UI-3,Wu,60000.00,0.0612,2007-06-30,2008-06-30,60000.00,E-02,business,BB
"""
FIRST_DAY = date(2008, 7, 1)



def wait_for(flow_run_id: UUID, state_types: set[StateType], timeout: float = 60) -> FlowRun:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(flow_run_id)
            if run.state is not None and run.state.type in state_types:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"flow run {flow_run_id} still {run.state!r} after {timeout:.0f} s")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def branch(ops_runner: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A book imported and run by the daily flow from FIRST_DAY to AS_OF, an escalation of L-UI-1 to
    litigation by E-01 waiting for approval, and the daily run's own request for L-UI-3 (L-UI-1's
    awaited suit is already asked for by E-01: the run does not ask twice)."""
    folder = tmp_path_factory.mktemp("branch")
    db_url = f"sqlite:///{folder / 'npl.db'}"
    (folder / "loans.csv").write_text(LOANS_CSV, encoding="utf-8")
    import_paths(db_url, [folder / "loans.csv"])
    serve_database(db_url)  # the served runs' database: a Secret block, never a parameter
    escalation = run_deployment(
        "manual-escalation/ops", timeout=0,
        parameters={"loan_id": "L-UI-1", "to": "litigation", "reason": "refuses every contact", "requested_by": "E-01",
                    "on": AS_OF.isoformat()},
    )
    paused = wait_for(escalation.id, {StateType.PAUSED, StateType.FAILED, StateType.COMPLETED, StateType.CRASHED})
    assert paused.state.type == StateType.PAUSED, paused.state.message
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NPL_DATABASE_URL", db_url)
        daily = daily_collection(as_of=FIRST_DAY, through=AS_OF, return_state=True)  # in this process
    assert daily.is_completed(), daily.message
    [requested] = daily.result()["approval_requests"]
    assert requested["loan_id"] == "L-UI-3"
    by_daily = wait_for(UUID(requested["flow_run_id"]), {StateType.PAUSED, StateType.FAILED, StateType.COMPLETED, StateType.CRASHED})
    assert by_daily.state.type == StateType.PAUSED, by_daily.state.message
    with get_client(sync_client=True) as client:
        daily_run = client.read_flow_run(daily.state_details.flow_run_id)
    paid = run_deployment("record-payment/ops", timeout=120, parameters={  # before the browser runs its event loop
        "loan_id": "L-UI-2", "amount": "1000.00", "by": "E-01"})
    assert paid.state.type == StateType.COMPLETED, paid.state.message
    return {"db_url": db_url, "daily": daily_run, "escalation": paused, "by_daily": by_daily, "payment": paid}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # no skip: a missing browser must fail the run (`.ci/run` installs Debian's chromium)
    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed: apt-get install chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def log_in(page: Page, ui_url: str, auth: str) -> None:
    """The UI's own login form (the server's basic-authentication string, kept in the browser)."""
    page.goto(ui_url)
    page.get_by_placeholder("admin:pass").fill(auth)
    page.get_by_role("button", name="Login").click()


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield context
    context.close()


@pytest.fixture
def page(browser_context: Any, prefect_server: Any) -> Iterator[Page]:
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    log_in(page, prefect_server.ui_url, AUTH)
    expect(page.get_by_placeholder("admin:pass")).to_be_hidden()
    yield page


def test_the_ui_asks_for_the_auth_string_and_refuses_a_wrong_one(prefect_server: Any, branch: dict[str, Any],
                                                                  browser_context: Any) -> None:
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{prefect_server.ui_url}/runs")
    expect(page.get_by_placeholder("admin:pass")).to_be_visible()  # no run listed before logging in
    log_in(page, prefect_server.ui_url, AUTH.split(":")[0] + ":wrong")
    page.wait_for_timeout(3000)  # the UI checks the string against the API, which answers 401
    expect(page.get_by_placeholder("admin:pass")).to_be_visible()
    assert page.evaluate("localStorage.getItem('prefect-password')") is None  # the wrong string is not kept
    expect(page.get_by_role("link", name=branch["daily"].name, exact=True)).to_have_count(0)


def click_when_settled(target: Any, tries: int = 6) -> None:
    """Click an element the UI re-renders while its run's artifacts load (a click on a node
    detached meanwhile is tried again)."""
    for _ in range(tries - 1):
        try:
            target.click(timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    target.click()


def open_latest(page: Page, ui_url: str, key: str) -> None:
    """From the Artifacts page, the latest version of an artifact in two clicks: its key, then the
    newest version on the key's timeline."""
    page.goto(f"{ui_url}/artifacts")
    click_when_settled(page.get_by_text(key, exact=True).first)  # click 1
    page.get_by_role("heading", level=6).first.get_by_role("link").click()  # click 2


def screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.wait_for_timeout(700)  # let the UI's transitions settle
    page.screenshot(path=str(path))
    if os.environ.get("NPL_DOCS_SCREENSHOTS") == "1":
        shutil.copyfile(path, ROOT / "docs" / f"{name}.png")
    return path


def test_staff_find_the_daily_run_and_read_its_summary(prefect_server: Any, branch: dict[str, Any], page: Page,
                                                        tmp_path: Path) -> None:
    page.goto(f"{prefect_server.ui_url}/runs")
    # named by its date (other tests of the session may have run the same date: pick this run's link)
    run_link = page.locator(f'a[href="/runs/flow-run/{branch["daily"].id}"]').first
    expect(run_link).to_have_text(branch["daily"].name)
    run_link.click()
    expect(page.get_by_text("daily-collection").first).to_be_visible()
    open_latest(page, prefect_server.ui_url, "daily-summary")

    summary = page.locator("article.markdown-renderer", has_text="每日催收汇总 —").first  # NPL_LANG unset: Chinese
    expect(summary).to_contain_text(f"每日催收汇总 — {AS_OF.isoformat()}")
    expect(summary).to_contain_text("overdue")
    screenshot(page, tmp_path, "ops-daily-summary")


def test_the_escalation_deployment_shows_its_parameter_form(prefect_server: Any, branch: dict[str, Any], page: Page,
                                                            tmp_path: Path) -> None:
    page.goto(f"{prefect_server.ui_url}/deployments")
    page.locator("tr", has_text="manual-escalation").get_by_role("link", name="ops", exact=True).click()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run").click()

    for label in ("loan_id", "to", "reason", "requested_by", "on (Optional)", "credit (Optional)"):
        expect(page.locator(".schema-form-property__label", has_text=label).first).to_be_visible()
    expect(page.get_by_text("案件要变更到的状态")).to_be_visible()  # the field's description, in Chinese
    screenshot(page, tmp_path, "ops-run-form")


def test_an_officer_finds_their_work_for_the_day_in_two_clicks_from_the_artifacts_page(
    prefect_server: Any, branch: dict[str, Any], page: Page, tmp_path: Path,
) -> None:
    open_latest(page, prefect_server.ui_url, "worklist-e-01")  # the officer's own table
    table = page.locator("table").first
    expect(table).to_contain_text("L-UI-1")
    expect(table).not_to_contain_text("L-UI-3")  # E-02's
    screenshot(page, tmp_path, "ops-my-work")


def approve_in_resume_form(page: Page, approver: str, comment: str) -> None:
    page.get_by_role("button", name="Resume").click()
    form = page.get_by_role("dialog")
    expect(form.get_by_text("申请将贷款")).to_be_visible()

    def field(label: str) -> Any:
        return form.locator(".schema-form-property", has=page.locator(".schema-form-property__label", has_text=label))

    decision = field("Decision").locator("button.p-select-button__control")
    decision.focus()
    page.keyboard.press(" ")  # the select opens from the keyboard inside the modal dialog
    page.get_by_role("option", name="approve").click()
    field("Approver").locator("textarea").fill(approver)
    field("Comment").locator("textarea").fill(comment)
    expect(decision).to_have_text("approve")
    form.get_by_text("Resume Flow Run").click()  # leave the last field first: its blur re-renders the form
    submit = form.get_by_role("button", name="Submit")
    expect(submit).to_be_enabled()
    submit.click()
    try:
        expect(form).to_be_hidden(timeout=15_000)  # the UI accepted the input and resumed the run
    except AssertionError:  # a click swallowed by a re-render on a loaded machine: the form is still there
        submit.click()
        expect(form).to_be_hidden(timeout=30_000)


def test_a_manager_approves_the_daily_runs_request_and_an_officers_from_one_list(
    prefect_server: Any, branch: dict[str, Any], page: Page, tmp_path: Path,
) -> None:
    for run, approver in ((branch["by_daily"], "E-03"), (branch["escalation"], "E-02")):
        open_latest(page, prefect_server.ui_url, "pending-approvals")
        listing = page.locator("article.markdown-renderer", has_text="L-UI-3 → litigation").first
        expect(listing).to_contain_text("L-UI-3 → litigation")  # both requests on the one list
        expect(listing).to_contain_text("L-UI-1 → litigation")
        if run is branch["by_daily"]:
            screenshot(page, tmp_path, "ops-pending-approvals")
        href = listing.get_by_role("link", name=run.name).get_attribute("href")  # the UI opens it in a new tab
        assert href == f"/runs/flow-run/{run.id}"
        page.goto(prefect_server.ui_url + href)
        expect(page.get_by_text("Suspended").first).to_be_visible()
        approve_in_resume_form(page, approver, "approved from the inbox")
        if run is branch["escalation"]:
            screenshot(page, tmp_path, "ops-ui")

    # the runner picks the resumed runs up in new processes: slow on a loaded 2-core machine
    for run in (branch["by_daily"], branch["escalation"]):
        done = wait_for(run.id, {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED}, timeout=240)
        assert done.state.type == StateType.COMPLETED, done.state.message
    with UnitOfWork(branch["db_url"]) as uow:
        moved = {loan: jsonable(cases.show(uow, loan))["history"][-1] for loan in ("L-UI-1", "L-UI-3")}
    assert (moved["L-UI-1"]["to"], moved["L-UI-1"]["by"], moved["L-UI-1"]["approved_by"]) == ("litigation", "E-01", "E-02")
    assert (moved["L-UI-3"]["to"], moved["L-UI-3"]["by"], moved["L-UI-3"]["approved_by"]) == ("litigation", "daily-run", "E-03")
    assert moved["L-UI-3"]["reason"].endswith("approved by E-03 (approved from the inbox)")


def test_retrying_a_payment_from_its_run_page_books_nothing_twice(
    prefect_server: Any, branch: dict[str, Any], page: Page, tmp_path: Path,
) -> None:
    paid = branch["payment"]
    page.goto(f"{prefect_server.ui_url}/runs/flow-run/{paid.id}")
    page.get_by_role("button", name="Retry").click()
    page.get_by_role("dialog").get_by_role("button", name="Retry").click()
    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while client.read_flow_run(paid.id).run_count < 2 or not client.read_flow_run(paid.id).state.is_final():
            assert time.monotonic() < deadline, "the retried run did not finish"
            time.sleep(0.5)
        assert client.read_flow_run(paid.id).state.is_completed()
    with UnitOfWork(branch["db_url"]) as uow:
        payments = [p for p in jsonable(cases.show(uow, "L-UI-2"))["payments"] if p["amount"] == "1000.00"]
    assert len(payments) == 1
