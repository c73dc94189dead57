"""Finding an enterprise by its name (or the start of its id), within the reader's county: for the
tip form and anyone who knows a firm by name rather than by its internal id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from serving.api.deps import EnterpriseReader, ReaderScope, RuntimeDep, record
from serving.schemas.common import ERRORS
from serving.schemas.meta import EnterpriseNames

router = APIRouter(prefix="/v1/enterprise-names", tags=["enterprises"], responses=ERRORS)


def find(scope, q: str, limit: int) -> list[dict]:
    """Enterprises the reader may see whose name contains ``q`` (case and width of Latin letters
    ignored) or whose id starts with it: the id itself first, then names starting with ``q``, then
    names containing it, each group by name."""
    ctx = scope.ctx
    if ctx is None:
        return []
    e = ctx.enterprises
    needle = q.strip().casefold()
    if not needle:
        return []
    hits = []
    for eid, name, industry in zip(e["enterprise_id"], e["name"].astype(str), e["industry_code"].astype(str), strict=True):
        n = name.casefold()
        if str(eid).casefold() == needle:
            rank = 0
        elif n.startswith(needle):
            rank = 1
        elif needle in n:
            rank = 2
        elif str(eid).casefold().startswith(needle):
            rank = 3
        else:
            continue
        if scope.enterprise_known(eid):
            hits.append((rank, name, str(eid), industry))
    hits.sort()
    return [{"enterprise_id": eid, "name": name, "county": ctx.county_of.get(eid), "industry_code": industry}
            for _, name, eid, industry in hits[:limit]]


@router.get("", response_model=EnterpriseNames, summary="Enterprises by name (partial, Chinese) or id prefix")
def enterprise_names(request: Request, user: EnterpriseReader, scope: ReaderScope, rt: RuntimeDep,
                     q: Annotated[str, Query(min_length=1, max_length=64, description="part of the name, or the id's start")],
                     limit: Annotated[int, Query(ge=1, le=50)] = 10):
    """At most ``limit`` enterprises of the reader's jurisdiction; a county user never finds another
    county's firm (the same answer as for a name that does not exist)."""
    items = find(scope, q, limit)
    record(rt, request, user, "enterprises.search", [i["enterprise_id"] for i in items])
    return {"items": items}
