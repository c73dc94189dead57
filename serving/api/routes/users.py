"""Users and their tokens (admins). A token is shown once at creation and stored only hashed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response
from sqlalchemy import select

from serving import audit
from serving.api.deps import Admin, RuntimeDep, record, request_id
from serving.auth import UserError, create_user, find_user, rotate_token
from serving.db.models import User
from serving.schemas.admin import UserCreated, UserIn, UserList
from serving.schemas.common import ERRORS, NOT_FOUND, ErrorBody

router = APIRouter(prefix="/v1/users", tags=["users"], responses={**ERRORS, **NOT_FOUND})


def user_out(u: User) -> dict:
    return {"id": u.id, "name": u.name, "role": u.role, "county": u.county, "created_at": u.created_at,
            "disabled": u.disabled, "token_expires_at": u.token_expires_at}


@router.get("", response_model=UserList, summary="All users")
def list_users(request: Request, user: Admin, rt: RuntimeDep):
    with rt.db.read() as s:
        rows = list(s.scalars(select(User).order_by(User.id).limit(10_000)))
    record(rt, request, user, "users.list", [str(u.id) for u in rows])
    return {"items": [user_out(u) for u in rows]}


@router.post("", response_model=UserCreated, status_code=201, summary="Create a user and its token",
             responses={409: {"model": ErrorBody, "description": "the name is taken"}})
def add_user(body: UserIn, request: Request, user: Admin, rt: RuntimeDep):
    try:
        with rt.db.write() as s:
            u, token = create_user(s, body.name, body.role, body.county, days=body.days or rt.settings.token_days)
            audit.append(s, user, "user.create", [str(u.id), u.name], result=u.role, request_id=request_id(request))
    except UserError as exc:
        raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from None
    return {**user_out(u), "token": token}


@router.delete("/{user_id}", status_code=204, summary="Disable a user (its token stops working)")
def disable_user(user_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request, user: Admin, rt: RuntimeDep):
    with rt.db.write() as s:
        u = s.get(User, user_id)
        if u is None:
            raise HTTPException(404, f"no user {user_id}")
        if u.id == user.id:
            raise HTTPException(422, "you cannot disable yourself")
        u.disabled = True
        audit.append(s, user, "user.disable", [str(u.id), u.name], request_id=request_id(request))
    return Response(status_code=204)


@router.post("/{user_id}/token", response_model=UserCreated, status_code=201, summary="Replace a user's token (the old one stops working)",
             responses={422: {"model": ErrorBody, "description": "the user is disabled"}})
def rotate_user_token(user_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request, user: Admin, rt: RuntimeDep):
    """A new token, valid ``HAZLEADS_TOKEN_DAYS`` days, shown once; the old token is refused from now
    on. Not one's own (the answer would end the session it came on): ``hazleads users rotate NAME``."""
    if user_id == user.id:
        raise HTTPException(422, "you cannot replace your own token here; use `hazleads users rotate NAME`")
    try:
        with rt.db.write() as s:
            u = find_user(s, user_id)
            token = rotate_token(s, u, rt.settings.token_days)
            audit.append(s, user, "user.rotate", [str(u.id), u.name], request_id=request_id(request))
    except UserError as exc:
        raise HTTPException(404 if "no user" in str(exc) else 422, str(exc)) from None
    return {**user_out(u), "token": token}
