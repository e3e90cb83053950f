"""The book's shared vocabularies: the values a field may take, defined once.

The import validates against these (CONTRACT.md, "Import files"), the policy file's thresholds
name products and ratings from them, and money keeps rates on RATE_SCALE. Pure: standard
library and the domain only.
"""

from __future__ import annotations

from models.domain.deadlines import GuaranteeType

# loans
PRODUCTS: tuple[str, ...] = ("business", "consumer", "mortgage", "agriculture", "aquaculture", "other")
CREDIT_RATINGS: tuple[str, ...] = ("AAA", "AA", "A", "BBB", "BB", "B", "C")  # best first
ORIGINS: tuple[str, ...] = ("insider", "insider_introduced", "relationship", "external")
EMPLOYER_TYPES: tuple[str, ...] = ("government", "institution", "state_enterprise", "private", "none")

# guarantors and collateral
GUARANTEE_TYPES: tuple[str, ...] = tuple(kind.value for kind in GuaranteeType)
COLLATERAL_OWNERS: tuple[str, ...] = ("borrower", "guarantor")
COLLATERAL_STATUSES: tuple[str, ...] = ("free", "frozen", "sealed", "sold")

# who paid, as a repayments file names it (a guarantor as ``guarantor:NAME``); ``deduction``: the
# bank took the arrears from the borrower's account under the loan contract
REPAYMENT_PAYERS: tuple[str, ...] = ("borrower", "guarantor", "court", "deduction")

# annual rates are stored as integer millionths ("ppm")
RATE_SCALE = 1_000_000
