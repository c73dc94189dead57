"""The ledger cross-check for the environment bureau (contract §4 ``ledger_mismatch``)."""

from __future__ import annotations

from pydantic import Field

from serving.schemas.common import Num, Out, Page
from serving.schemas.detail import LedgerMonth
from serving.schemas.leads import ListInfo


class MismatchRow(LedgerMonth):
    enterprise_id: str
    name: str | None = None
    county: str | None = None
    over_3t: bool = Field(description="this enterprise, month and code: 3 t or more unaccounted for")
    enterprise_unaccounted_t_365d: Num = Field(None, description="the enterprise's unaccounted tonnes over the 12 months to as-of")
    enterprise_over_3t: bool = Field(description="the enterprise reaches 3 t over the 12 months (the criminal standard)")


class MismatchPage(Page):
    run: ListInfo
    items: list[MismatchRow]


class EnterpriseTotal(Out):
    enterprise_id: str
    name: str | None = None
    county: str | None = None
    rows: int = Field(description="monthly rows (month and waste code) summed")
    months: int
    unaccounted_t: Num = Field(None, description="tonnes unaccounted for over the rows summed")
    largest_month_t: Num = None
    enterprise_unaccounted_t_365d: Num = Field(None, description="over the 12 months to as-of, whatever the filters")
    enterprise_over_3t: bool


class EnterpriseTotalPage(Page):
    run: ListInfo
    items: list[EnterpriseTotal]
