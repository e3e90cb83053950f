"""Demand letters for tests and the README picture: Yang's loan L-0002 from demo/data.

The figures are worked by hand, not by the money code: interest at 7.47% a year on 49,000.00
from the last payment (2007-12-30) to maturity (2008-06-30), 183 days / 360 = 1,860.65; penalty
interest at 1.5 times the rate from maturity to 2008-12-01, 154 days = 2,348.69.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from models.letters import Letter, borrower_legal_basis, guarantor_legal_basis

BRANCH = "某某农村商业银行城东支行"
BRANCH_ADDRESS = "城东区中山路88号"


def yang_letter(**changes: Any) -> Letter:
    """The borrower letter to Yang (L-0002), with ``changes`` applied."""
    letter = Letter(
        letter_no="CS-20081201-0002",
        kind="borrower",
        branch_name=BRANCH,
        branch_address=BRANCH_ADDRESS,
        recipient_name="杨某某 (Yang)",
        recipient_address="萧山村杨家厂房（2亩） Yang's factory (2 mu) Xiaoshan village",
        loan_id="L-0002",
        contract_no="JK-2007-0630-0002",
        disbursed_on=date(2007, 6, 30),
        maturity_on=date(2008, 6, 30),
        principal=Decimal("49000.00"),
        interest=Decimal("1860.65"),
        penalty=Decimal("2348.69"),
        costs=Decimal("0.00"),
        total=Decimal("53209.34"),
        legal_basis=borrower_legal_basis(),
        pay_by=date(2008, 12, 31),
        issued_on=date(2008, 12, 1),
        contact="客户经理 E-02，电话 0571-8888 0002",
    )
    return replace(letter, **changes) if changes else letter


def zhang_letter(**changes: Any) -> Letter:
    """The letter to Zhang, Yang's joint guarantor, with ``changes`` applied."""
    letter = replace(
        yang_letter(),
        letter_no="BZ-20081201-0003",
        kind="guarantor",
        recipient_name="张某某 (Zhang)",
        recipient_address="城东区和平路12号",
        borrower_name="杨某某 (Yang)",
        guarantee_type="joint",
        guarantee_period_end=date(2008, 12, 30),
        legal_basis=guarantor_legal_basis("joint"),
        costs=Decimal("320.00"),
        total=Decimal("53529.34"),
        pay_by=date(2008, 12, 20),
        method="in_person",
    )
    return replace(letter, **changes) if changes else letter
