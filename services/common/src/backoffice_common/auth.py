"""Bearer JWT authentication: HS256 with a configured secret, or RS256 through a JWKS URL.

The accepted algorithm is ``jwt_algorithm``. Only when ``environment`` is ``development`` are HS256
tokens signed with ``jwt_secret`` accepted as well, next to RS256 tokens of the identity provider:
the local profiles verify Keycloak's tokens through its JWKS while the tests, the demo and the
CLI keep minting HS256 development tokens. Such HS256 tokens are not checked against
``jwt_issuer`` (they carry none). Outside development only the configured algorithm is accepted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import jwt
from fastapi import Depends
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from backoffice_common.problems import Problem
from backoffice_common.settings import ServiceSettings

ROLES = frozenset({"requester", "approver", "procurement", "admin", "finance", "hr"})

_BEARER_DESCRIPTION = "JWT issued by the identity provider"


class User(BaseModel):
    sub: str = Field(min_length=1, max_length=200)
    name: str = ""
    email: str = ""
    roles: frozenset[str] = frozenset()
    department: str | None = None

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def sees_everything(self) -> bool:
        return self.has_any("procurement", "admin")


class Authenticator:
    """Verifies bearer tokens. A token verified once is remembered until it expires (``CACHE_SIZE`` of the
    most recent): the same bytes carry the same signature and claims, so a client that sends its token
    with every call pays for the signature check and the claim parsing once, not on every request."""

    CACHE_SIZE = 4096

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._verified: dict[str, tuple[float, User]] = {}
        self._jwks: jwt.PyJWKClient | None = None
        if settings.jwt_algorithm == "RS256" and settings.jwt_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=600)

    def accepted_algorithms(self) -> frozenset[str]:
        """The configured algorithm, plus HS256 development tokens in development only."""
        if self._settings.environment == "development":
            return frozenset({self._settings.jwt_algorithm, "HS256"})
        return frozenset({self._settings.jwt_algorithm})

    async def authenticate(self, token: str) -> User:
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached[0]:
                return cached[1]
            del self._verified[token]
        user, claims = await self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        # Valid as long as jwt.decode would still accept it: until exp, plus the configured leeway.
        self._verified[token] = (float(claims["exp"]) + self._settings.jwt_leeway_seconds, user)
        return user

    async def _verify(self, token: str) -> tuple[User, dict[str, Any]]:
        settings = self._settings
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            if algorithm not in self.accepted_algorithms():
                raise _unauthorized(f"tokens signed with {algorithm!r} are not accepted")
            issuer = settings.jwt_issuer
            if algorithm == "RS256" and self._jwks is not None:
                jwks = self._jwks
                signing_key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)
                key: Any = signing_key.key
            else:
                key = settings.jwt_secret
                if settings.jwt_algorithm != "HS256":
                    issuer = None  # a development token beside the identity provider's (see above)
            claims = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=settings.jwt_audience,
                issuer=issuer,
                leeway=settings.jwt_leeway_seconds,
                options={"require": ["sub", "exp", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthorized("the token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise _unauthorized("the token was issued for another audience") from exc
        except jwt.InvalidSignatureError as exc:
            raise _unauthorized("the token signature is invalid") from exc
        except jwt.PyJWKClientError as exc:
            raise _unauthorized(f"the token's signing key could not be found: {exc}") from exc
        except jwt.InvalidTokenError as exc:
            raise _unauthorized(f"the token is invalid: {exc}") from exc
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise _unauthorized("the roles claim must be a list of strings")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 200 or _has_control(sub):
            raise _unauthorized("the sub claim must be a non-empty string without control characters")
        name, email = claims.get("name", ""), claims.get("email", "")
        if not isinstance(name, str) or _has_control(name):
            raise _unauthorized("the name claim must be a string without line breaks or control characters")
        # An address with CR/LF would be stored, put in mail headers and fail (or inject headers) later.
        if not isinstance(email, str) or _has_control(email) or len(email) > 320:
            raise _unauthorized("the email claim must be one address without line breaks or control characters")
        department = claims.get("department")
        user = User(
            sub=sub,
            name=name[:200],
            email=email,
            roles=frozenset(r for r in roles if r in ROLES),
            department=department if isinstance(department, str) else None,
        )
        return user, claims


def _has_control(value: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, type="unauthorized", headers={"WWW-Authenticate": "Bearer"})


class BearerUser(HTTPBearer):
    """The dependency that answers the request's user: the bearer token of ``Authorization``, verified.

    One dependency where there were two (``HTTPBearer`` handing its credentials to a function that
    verified them): the same check, without the credentials object and the second node for FastAPI
    to solve on every request. It is the same ``HTTPBearer`` security scheme in the OpenAPI document.
    """

    async def __call__(self, request: HTTPConnection) -> User:  # type: ignore[override]
        authorization = request.headers.get("Authorization")
        scheme, token = get_authorization_scheme_param(authorization)
        if not (authorization and scheme and token) or scheme.lower() != "bearer":
            raise _unauthorized("a bearer token is required")
        authenticator: Authenticator = request.app.state.authenticator
        return await authenticator.authenticate(token)


current_user = BearerUser(auto_error=False, scheme_name="HTTPBearer", description=_BEARER_DESCRIPTION)


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: str) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through users holding any of ``roles``."""

    async def dependency(user: CurrentUser) -> User:
        if not user.has_any(*roles):
            raise Problem(
                403,
                "Forbidden",
                f"this action needs one of the roles: {', '.join(sorted(roles))}",
                type="forbidden",
            )
        return user

    return dependency


def mint_token(
    *,
    secret: str,
    sub: str,
    roles: list[str],
    name: str = "",
    email: str = "",
    department: str | None = None,
    audience: str = "backoffice",
    ttl_seconds: int = 3600,
    **extra: Any,
) -> str:
    """An HS256 token for local development, demos and tests."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "name": name or sub,
        "email": email or f"{sub}@example.com",
        "roles": roles,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
        **extra,
    }
    if department is not None:
        claims["department"] = department
    return jwt.encode(claims, secret, algorithm="HS256")
