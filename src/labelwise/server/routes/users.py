"""Users: who am I, and (site admins) adding users."""

from __future__ import annotations

from fastapi import APIRouter, status

from labelwise.server.deps import CurrentUser, SessionDep, SiteAdmin
from labelwise.server.schemas.users import UserIn, UserOut
from labelwise.service import users

router = APIRouter(tags=["users"])


@router.get("/me", response_model=UserOut)
def read_me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, _admin: SiteAdmin) -> list[UserOut]:
    """Every user (site admins only)."""
    return [UserOut.model_validate(u) for u in users.list_users(session)]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, session: SessionDep, _admin: SiteAdmin) -> UserOut:
    """Add a user (site admins only)."""
    user = users.create_user(
        session, username=body.username, password=body.password, is_admin=body.is_admin
    )
    return UserOut.model_validate(user)
