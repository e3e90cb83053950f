"""The `policy-replay` flow under the session's Prefect server: the challenger from the form's TOML
text, the comparison published as a markdown artifact with the chart's numbers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from machines.policy import PolicyError
from services.importing import import_paths
from tests.builders import run

DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"


def test_policy_replay_publishes_the_comparison_and_the_weekly_numbers(prefect_server, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.replay import policy_replay

    url = f"sqlite:///{tmp_path / 'npl.db'}"
    monkeypatch.setenv("NPL_DATABASE_URL", url)  # the served process's database; no flow takes a URL
    import_paths(url, [DEMO / "loans.csv", DEMO / "guarantors.csv", DEMO / "collateral.csv"])
    run(url, date(2008, 6, 1), date(2008, 12, 31))
    state = policy_replay(policy_toml="[limits]\nvisit = 10\n", date_from=date(2008, 6, 30), date_to=date(2008, 12, 31), return_state=True)
    result = state.result()
    assert {"from", "to", "champion", "challenger", "difference", "limits"} <= set(result)
    # L-0002 and L-0006 are pressed 3 (overdue) + 7 (internal review) + 30 (visit) = 40 days after falling
    # due under the champion, 3 + 7 + 10 = 20 under the challenger (the others have no guarantor liable)
    pressure = {side: result[side]["days_from_due"]["guarantor_pressure"] for side in ("champion", "challenger")}
    assert pressure["champion"] == {"cases": 2, "median": 40, "p90": 40}
    assert pressure["challenger"] == {"cases": 2, "median": 20, "p90": 20}
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    assert artifact.key == "policy-replay"
    # NPL_LANG unset: Chinese headings and row labels (states stay codes)
    assert "| 指标 | 现行策略 | 挑战者策略 | 差异 |" in artifact.data
    assert "| 自到期起天数 / guarantor_pressure / 中位数 | 40.0 | 20.0 | -20.0 |" in artifact.data
    assert "## 按周（图表数据）" in artifact.data and "## 局限" in artifact.data


def test_policy_replay_refuses_an_invalid_challenger_naming_the_key(prefect_server, tmp_path):
    from flows.replay import policy_replay

    with pytest.raises(PolicyError, match="lead_days.guarantee"):
        policy_replay(policy_toml="[lead_days]\nguarantee = -3\n", date_from=date(2008, 6, 30), date_to=date(2008, 12, 31))
