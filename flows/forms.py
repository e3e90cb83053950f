"""The deployments' forms in the chosen language (``NPL_LANG``): each served deployment's
description and the description of each field of its form, from the one table (flows/i18n.py).

Prefect builds a deployment's form from its flow's signature and docstring (``Args:``), in English;
``localize`` replaces those words when the deployment is built (deployments/serve.py), so the
language is the served process's. The fields' names (``loan_id``, ``on`` …) stay as they are:
they are the parameters' keys, the ones the run page's Parameters tab, the API and the command
line show. A field or deployment missing here keeps Prefect's English (a test checks there is none).
"""

from __future__ import annotations

from typing import Any

from flows.i18n import t

# deployment's flow → (label of its description, {parameter: label of its description})
FORMS: dict[str, tuple[str, dict[str, str]]] = {
    "daily-collection": ("deploy.daily", {"as_of": "form.daily_as_of", "through": "form.through", "publish": "form.publish",
                                          "wait_for_export": "form.wait_for_export"}),
    "manual-escalation": ("deploy.escalation", {"loan_id": "form.loan_id", "to": "form.escalation_to", "reason": "form.reason",
                                                "requested_by": "form.by", "on": "form.escalation_on", "credit": "form.credit",
                                                "key": "form.key_escalation"}),
    "record-payment": ("deploy.payment", {"loan_id": "form.loan_id", "amount": "form.payment_amount", "on": "form.payment_on",
                                          "payer": "form.payer", "by": "form.by", "key": "form.key"}),
    "record-visit": ("deploy.visit", {"loan_id": "form.loan_id", "outcome": "form.outcome", "on": "form.visit_on",
                                      "promise_amount": "form.promise_amount", "promise_date": "form.promise_date",
                                      "employer": "form.employer", "by": "form.by", "key": "form.key"}),
    "record-demand": ("deploy.demand", {"loan_id": "form.loan_id", "on": "form.demand_on", "guarantor": "form.guarantor",
                                        "method": "form.demand_method", "tracking": "form.tracking", "by": "form.by", "key": "form.key"}),
    "record-filing": ("deploy.filing", {"loan_id": "form.loan_id", "on": "form.filing_on", "court": "form.court",
                                        "case_no": "form.case_no", "kind": "form.filing_kind", "by": "form.by", "key": "form.key"}),
    "record-cost": ("deploy.cost", {"loan_id": "form.loan_id", "amount": "form.cost_amount", "what": "form.what",
                                    "on": "form.cost_on", "by": "form.by", "key": "form.key"}),
    "sign-installment-plan": ("deploy.plan", {"loan_id": "form.loan_id", "monthly": "form.monthly", "first_due": "form.first_due",
                                              "on": "form.plan_on", "by": "form.by", "key": "form.key"}),
    "record-judgment": ("deploy.judgment", {"loan_id": "form.loan_id", "amount": "form.judgment_amount",
                                            "perform_by": "form.perform_by", "on": "form.judgment_on", "by": "form.by",
                                            "key": "form.key"}),
    "record-enforcement": ("deploy.enforcement", {"loan_id": "form.loan_id", "on": "form.enforcement_on", "by": "form.by",
                                                  "key": "form.key"}),
    "take-asset": ("deploy.take_asset", {"loan_id": "form.loan_id", "asset": "form.asset", "value": "form.value",
                                         "on": "form.take_on", "payer": "form.asset_payer", "by": "form.by", "key": "form.key"}),
    "dispose-asset": ("deploy.dispose_asset", {"loan_id": "form.dispose_loan_id", "asset": "form.asset_id", "on": "form.dispose_on",
                                               "proceeds": "form.proceeds", "by": "form.by", "key": "form.key"}),
    "classify": ("deploy.classify", {"loan_id": "form.loan_id", "to": "form.classify_to", "reason": "form.classify_reason",
                                     "by": "form.by", "approved_by": "form.approved_by", "otp": "form.otp",
                                     "on": "form.classify_on", "key": "form.key_records"}),
    "ingest-export": ("deploy.ingest", {"folder": "form.folder", "files": "form.files", "business_date": "form.business_date"}),
    "case-lookup": ("form.case_lookup", {"loan_id": "form.loan_id"}),
    "pending-approvals": ("approvals.description", {}),
    "demand-letters": ("deploy.letters", {"as_of": "form.letters_as_of"}),
    "record-service": ("deploy.service", {"letter_no": "form.letter_no", "on": "form.service_on", "method": "form.service_method",
                                          "by": "form.by", "tracking": "form.service_tracking", "key": "form.key_records"}),
    "policy-replay": ("deploy.replay", {"policy_toml": "form.policy_toml", "date_from": "form.date_from", "date_to": "form.date_to"}),
    "portfolio-report": ("deploy.report", {"as_of": "form.report_as_of", "xlsx": "form.xlsx"}),
}


def localize(deployment: Any) -> Any:
    """``deployment`` (a RunnerDeployment not yet registered) with its description and its form's
    field descriptions in the chosen language; returned for use in a list."""
    description, fields = FORMS[deployment.flow_name]
    deployment.description = t(description)
    properties = deployment._parameter_openapi_schema.properties
    for name, label in fields.items():
        if name in properties:
            properties[name]["description"] = t(label)
    return deployment
