"""A lead's place among the open leads (``rank``) is the same whichever page, sort or filter it is
read through: the list numbers only the stretch a page spans (``serving.repo.leads.open_ranks``),
so that numbering must agree with the whole open list's, concluded leads left out."""

from __future__ import annotations

E = "/v1/leads/enterprises"


def ranks(service, who: str, **params) -> dict[str, int]:
    r = service.get(who, E, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return {i["enterprise_id"]: i["rank"] for i in r.json()["items"]}


def everything_ids(page: dict) -> set[str]:
    return {i["enterprise_id"] for i in page["items"]}


def test_open_ranks_agree_on_every_page_and_sort_once_a_lead_is_concluded(service):
    r = service.post("inv", "/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E4", "outcome": "unfounded"})
    assert r.status_code == 201, r.text
    for who in ("inv", "inv_lingui"):
        whole = ranks(service, who)
        assert sorted(whole.values()) == list(range(1, len(whole) + 1)), who
        everything = service.get(who, E, params={"include_concluded": True}).json()
        assert service.get(who, E).json()["total"] == len(whole), who  # counted without reading the list
        assert everything["total"] == len(everything["items"]) == len(whole) + ("E4" in everything_ids(everything)), who
        for offset in range(len(whole)):  # one lead a page, and two
            for limit in (1, 2):
                assert ranks(service, who, offset=offset, limit=limit) == {
                    k: v for k, v in whole.items() if offset < v <= offset + limit}, (who, offset, limit)
        for sort in ("score", "name", "status"):
            for desc in (False, True):
                page = ranks(service, who, sort=sort, desc=desc, include_concluded=True)
                assert {k: v for k, v in page.items() if k in whole} == whole, (who, sort, desc)
