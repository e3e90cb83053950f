"""What operations staff do in the Prefect UI, in a real headless Chromium (Debian's, driven by
Playwright) against the session's Prefect server and its served deployments:

- find the day's ``daily-collection`` run and read its summary artifact;
- open the ``manual-escalation/ops`` deployment's run form;
- answer a suspended escalation in the Resume form, as the second person, and see the case move.

The server runs with basic authentication on (tests/prefect_server.py): every page first logs
in through the UI's own login form, and a wrong string is refused there.

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
"""



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
    """A book imported and run by the daily flow for AS_OF, and an escalation of L-UI-1 to
    litigation by E-01 waiting for approval."""
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
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NPL_DATABASE_URL", db_url)
        daily = daily_collection(as_of=AS_OF, return_state=True)  # meanwhile, in this process
    assert daily.is_completed(), daily.message
    paused = wait_for(escalation.id, {StateType.PAUSED, StateType.FAILED, StateType.COMPLETED, StateType.CRASHED})
    assert paused.state.type == StateType.PAUSED, paused.state.message
    with get_client(sync_client=True) as client:
        daily_run = client.read_flow_run(daily.state_details.flow_run_id)
    return {"db_url": db_url, "daily": daily_run, "escalation": paused}


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
    page.get_by_role("link", name=branch["daily"].name, exact=True).click()
    expect(page.get_by_text("daily-collection").first).to_be_visible()
    page.locator("li.p-tab", has_text="Artifacts").click()
    page.get_by_text("daily-summary", exact=True).click()

    summary = page.locator("article.markdown-renderer").last  # the first is the artifact's description
    expect(summary).to_contain_text(f"Daily collection — {AS_OF.isoformat()}")
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
    expect(page.get_by_text("the state to move the case to")).to_be_visible()
    screenshot(page, tmp_path, "ops-run-form")


def test_a_second_person_approves_a_suspended_escalation_in_the_resume_form(
    prefect_server: Any, branch: dict[str, Any], page: Page, tmp_path: Path,
) -> None:
    run = branch["escalation"]
    page.goto(f"{prefect_server.ui_url}/runs/flow-run/{run.id}")
    expect(page.get_by_text("Suspended").first).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    form = page.get_by_role("dialog")
    expect(form.get_by_text("asks to move loan")).to_contain_text("E-01 asks to move loan L-UI-1 from")

    def field(label: str) -> Any:
        return form.locator(".schema-form-property", has=page.locator(".schema-form-property__label", has_text=label))

    decision = field("Decision").locator("button.p-select-button__control")
    decision.focus()
    page.keyboard.press(" ")  # the select opens from the keyboard inside the modal dialog
    page.get_by_role("option", name="approve").click()
    field("Approver").locator("textarea").fill("E-02")
    field("Comment").locator("textarea").fill("approved in the UI")
    expect(decision).to_have_text("approve")
    screenshot(page, tmp_path, "ops-ui")
    form.get_by_text("Resume Flow Run").click()  # leave the last field first: its blur re-renders the form
    submit = form.get_by_role("button", name="Submit")
    expect(submit).to_be_enabled()
    submit.click()
    try:
        expect(form).to_be_hidden(timeout=15_000)  # the UI accepted the input and resumed the run
    except AssertionError:  # a click swallowed by a re-render on a loaded machine: the form is still there
        submit.click()
        expect(form).to_be_hidden(timeout=30_000)

    # the runner picks the resumed run up in a new process: slow on a loaded 2-core machine
    done = wait_for(run.id, {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED}, timeout=240)
    assert done.state.type == StateType.COMPLETED, done.state.message
    with UnitOfWork(branch["db_url"]) as uow:
        last = jsonable(cases.show(uow, "L-UI-1"))["history"][-1]
    assert (last["to"], last["by"], last["approved_by"]) == ("litigation", "E-01", "E-02")
    assert last["reason"].endswith("approved by E-02 (approved in the UI)")
