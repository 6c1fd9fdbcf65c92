"""OpenID Connect against the identity provider: authorization code + PKCE (Authlib), refresh, sign-out.

The access token is verified like the services verify it (RS256 through the provider's JWKS,
audience and issuer); its claims (sub, name, roles, department, locale) describe the user.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from backoffice_console.settings import Settings


class SignInFailed(Exception):
    """The provider refused the code or the refresh token, or its token did not verify."""


class OidcClient:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._metadata: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKClient | None = None
        self.redirect_uri = settings.public_base_url.rstrip("/") + "/auth/callback"

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self._settings.oidc_discovery_url or (
                self._settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
            )
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(url)
                response.raise_for_status()
                self._metadata = dict(response.json())
            self._jwks = jwt.PyJWKClient(str(self._metadata["jwks_uri"]), cache_keys=True, lifespan=600)
        return self._metadata

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self._settings.oidc_client_id,
            client_secret=self._settings.oidc_client_secret,
            scope=self._settings.oidc_scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=10,
        )

    async def authorization_url(self, *, locale: str | None) -> tuple[str, dict[str, str]]:
        """The provider's login page URL and what the callback needs to finish (kept server-side)."""
        meta = await self.metadata()
        verifier = generate_token(64)
        state = secrets.token_urlsafe(24)
        nonce = secrets.token_urlsafe(24)
        params = {
            "response_type": "code",
            "client_id": self._settings.oidc_client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self._settings.oidc_scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if locale:
            params["ui_locales"] = locale
        return f"{meta['authorization_endpoint']}?{urlencode(params)}", {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
        }

    async def exchange(self, code: str, verifier: str, nonce: str) -> tuple[dict[str, Any], dict[str, Any]]:
        meta = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    meta["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=verifier
                )
            except Exception as exc:
                raise SignInFailed(f"the identity provider refused the code: {exc}") from exc
        id_claims = await self.verify(str(token.get("id_token", "")), audience=self._settings.oidc_client_id)
        if id_claims.get("nonce") != nonce:
            raise SignInFailed("the ID token's nonce does not match this sign-in")
        return dict(token), await self.verify(str(token["access_token"]))

    async def refresh(self, tokens: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        meta = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.refresh_token(meta["token_endpoint"], refresh_token=tokens["refresh_token"])
            except Exception as exc:
                raise SignInFailed(f"the session at the identity provider has ended: {exc}") from exc
        merged = {**tokens, **dict(token)}
        return merged, await self.verify(str(merged["access_token"]))

    async def verify(self, token: str, *, audience: str | None = None) -> dict[str, Any]:
        await self.metadata()
        assert self._jwks is not None
        try:
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            return dict(
                jwt.decode(
                    token,
                    key.key,
                    algorithms=["RS256"],
                    audience=audience or self._settings.oidc_audience,
                    issuer=self._settings.oidc_issuer,
                    leeway=30,
                    options={"require": ["sub", "exp", "aud", "iss"]},
                )
            )
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise SignInFailed(f"the identity provider's token did not verify: {exc}") from exc

    async def logout_url(self, id_token: str | None) -> str:
        meta = await self.metadata()
        params = {
            "client_id": self._settings.oidc_client_id,
            "post_logout_redirect_uri": self._settings.public_base_url.rstrip("/") + "/signed-out",
        }
        if id_token:
            params["id_token_hint"] = id_token
        return f"{meta['end_session_endpoint']}?{urlencode(params)}"


def expires_soon(tokens: dict[str, Any], margin: float = 30) -> bool:
    expires_at = tokens.get("expires_at")
    return isinstance(expires_at, int | float) and expires_at - margin < time.time()
