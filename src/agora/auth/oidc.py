"""Sign-in through an external identity provider: OpenID Connect, and GitHub's OAuth2.

Any OpenID Connect provider is configured by its discovery URL (presets exist for Google). The
flow is the authorization code grant with PKCE (S256): `start` builds the authorization URL with
a random `state` and `nonce`; the caller keeps `state`, `nonce` and `code_verifier` until the
provider redirects back, compares `state` itself, then `finish` exchanges the code (Authlib's
httpx client) and validates the ID token against the provider's JWKS (joserfc): signature with
an asymmetric algorithm the JWKS declares, `iss`, `aud` = client id, `azp`, `exp`, `iat` and
`nonce`. The identity's email is reported with the provider's `email_verified`, so the auth
service can link accounts by verified email only.

GitHub is OAuth2 without OpenID Connect (no discovery, no ID token): its preset
(`protocol="github"`) uses `<base>/login/oauth/authorize` and `<base>/login/oauth/access_token`,
then reads the user from the REST API (`GET /user`) and the email with GitHub's own verified flag
from `GET /user/emails` (primary verified email first). `discovery_url` holds the base URL:
`https://github.com` (API at `https://api.github.com`) or a GitHub Enterprise Server
(`https://github.example.com`, API at `<base>/api/v3`). GitHub has no nonce; `state` and PKCE
protect its flow.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import httpx2  # Authlib's HTTP client: the code exchange raises its errors
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agora.platform.errors import InvalidArgument, Unauthenticated, Unavailable

ProviderProtocol = Literal["oidc", "github"]

DEFAULT_SCOPES: tuple[str, ...] = ("openid", "email", "profile")
GITHUB_SCOPES: tuple[str, ...] = ("read:user", "user:email")
HTTP_TIMEOUT_S = 10.0
CLOCK_LEEWAY_S = 60
DISCOVERY_TTL_S = 3600.0
JWKS_TTL_S = 3600.0
# An unknown `kid` refetches the JWKS (key rotation), at most this often.
JWKS_REFRESH_MIN_INTERVAL_S = 10.0
# ID tokens must be signed asymmetrically: no `none`, no HMAC keyed with the client secret.
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# Issuers whose ID tokens also carry another spelling of `iss` (documented by the provider).
ISSUER_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"https://accounts.google.com": ("accounts.google.com",)}
)
_WELL_KNOWN = "/.well-known/openid-configuration"
_GITHUB_API_HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
}


@dataclass(frozen=True)
class OidcProviderConfig:
    """One configured identity provider.

    `discovery_url` is the OpenID Connect discovery document, or for `protocol="github"` the
    GitHub base URL.
    """

    name: str
    discovery_url: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    protocol: ProviderProtocol = "oidc"


@dataclass(frozen=True)
class OidcPreset:
    """Defaults of a well-known provider, used by `"preset": "<name>"` in the settings."""

    discovery_url: str
    protocol: ProviderProtocol = "oidc"
    scopes: tuple[str, ...] = DEFAULT_SCOPES


PRESETS: Mapping[str, OidcPreset] = MappingProxyType(
    {
        "google": OidcPreset("https://accounts.google.com" + _WELL_KNOWN),
        "github": OidcPreset("https://github.com", protocol="github", scopes=GITHUB_SCOPES),
    }
)


@dataclass(frozen=True)
class OidcStart:
    """What the caller keeps until the provider redirects back (and the URL to send the user to)."""

    authorization_url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class OidcIdentity:
    """The user as the provider vouches for them; `email_verified` is the provider's own flag."""

    provider: str
    subject: str
    email: str
    email_verified: bool
    name: str


class _ProviderEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    preset: str | None = None
    discovery_url: str | None = None
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    scopes: tuple[str, ...] | None = Field(default=None, min_length=1)


_ENTRIES = TypeAdapter(list[_ProviderEntry])


def providers_from_settings(raw_json: str) -> dict[str, OidcProviderConfig]:
    """Parse `AGORA_AUTH_OIDC_PROVIDERS`: a JSON list of providers, keyed by name.

    Each entry is `{name, preset? | discovery_url?, client_id, client_secret, scopes?}`; a preset
    gives the URL, protocol and scopes, which `discovery_url` and `scopes` override. An empty
    string configures no provider. Raises ValueError naming the first problem.
    """
    if not raw_json.strip():
        return {}
    try:
        entries = _ENTRIES.validate_json(raw_json)
    except ValidationError as error:
        raise ValueError(f"AGORA_AUTH_OIDC_PROVIDERS: {error}") from error
    providers: dict[str, OidcProviderConfig] = {}
    for entry in entries:
        if entry.name in providers:
            raise ValueError(f"AGORA_AUTH_OIDC_PROVIDERS: provider {entry.name!r} is listed twice")
        providers[entry.name] = _provider_config(entry)
    return providers


def _provider_config(entry: _ProviderEntry) -> OidcProviderConfig:
    where = f"AGORA_AUTH_OIDC_PROVIDERS[{entry.name}]"
    preset = None
    if entry.preset is not None:
        preset = PRESETS.get(entry.preset)
        if preset is None:
            raise ValueError(f"{where}: unknown preset {entry.preset!r} (known: {sorted(PRESETS)})")
    url = entry.discovery_url or (preset.discovery_url if preset else None)
    if url is None:
        raise ValueError(f"{where}: give a discovery_url or a preset")
    if not _is_secure_url(url):
        raise ValueError(f"{where}: {url!r} must be https (http only on loopback)")
    protocol: ProviderProtocol = preset.protocol if preset else "oidc"
    scopes = entry.scopes or (preset.scopes if preset else DEFAULT_SCOPES)
    if protocol == "oidc" and "openid" not in scopes:
        raise ValueError(f"{where}: OpenID Connect needs the 'openid' scope")
    return OidcProviderConfig(
        name=entry.name,
        discovery_url=url,
        client_id=entry.client_id,
        client_secret=entry.client_secret,
        scopes=scopes,
        protocol=protocol,
    )


def _is_secure_url(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class _Endpoints:
    """Where a provider's flow happens, from its discovery document or the GitHub layout."""

    issuer: str
    authorization: str
    token: str
    userinfo: str | None
    jwks_uri: str | None
    token_auth_method: str
    signing_algorithms: tuple[str, ...]
    fetched_at: float


@dataclass(frozen=True)
class _Keys:
    key_set: KeySet
    algorithms: tuple[str, ...]
    fetched_at: float


class OidcClient:
    """The relying party for every configured provider (discovery and JWKS cached per provider).

    `redirect_uris` are the only URLs a sign-in may send the browser back to (compared exactly):
    any other would let a crafted link deliver the provider's code to someone else's site.
    `http` carries discovery, JWKS and user-info calls (an own client with a 10 s timeout when
    omitted); the code exchange runs on Authlib's `AsyncOAuth2Client` with the same timeout.
    """

    def __init__(
        self,
        providers: Mapping[str, OidcProviderConfig],
        *,
        redirect_uris: Collection[str],
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._providers = dict(providers)
        self._redirect_uris = frozenset(redirect_uris)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=HTTP_TIMEOUT_S)
        self._endpoints: dict[str, _Endpoints] = {}
        self._keys: dict[str, _Keys] = {}

    def provider_names(self) -> list[str]:
        """The configured providers' names, sorted."""
        return sorted(self._providers)

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def start(self, provider: str, redirect_uri: str) -> OidcStart:
        """The authorization URL to send the user to, with fresh `state`, `nonce` and PKCE.

        Raises InvalidArgument (400) for a `redirect_uri` outside the configured allow-list.
        """
        if redirect_uri not in self._redirect_uris:
            raise InvalidArgument.for_field("redirectUri", "not an allowed redirect URI")
        config = self._config(provider)
        endpoints = await self._endpoints_of(config)
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        code_verifier = secrets.token_urlsafe(64)
        extra = {"nonce": nonce} if config.protocol == "oidc" else {}
        async with self._oauth(config, endpoints, redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                endpoints.authorization, state=state, code_verifier=code_verifier, **extra
            )
        return OidcStart(
            authorization_url=url, state=state, nonce=nonce, code_verifier=code_verifier
        )

    async def finish(
        self,
        provider: str,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        nonce: str,
    ) -> OidcIdentity:
        """Exchange the code (with the PKCE verifier) and return the verified identity.

        The caller has already compared the returned `state` with the one from `start`.
        UNAUTHENTICATED when the provider refuses the code or the ID token fails validation;
        UNAVAILABLE when the provider cannot be reached.
        """
        config = self._config(provider)
        endpoints = await self._endpoints_of(config)
        token = await self._exchange(config, endpoints, code, redirect_uri, code_verifier)
        if config.protocol == "github":
            return await self._github_identity(config, token)
        return await self._oidc_identity(config, endpoints, token, nonce)

    def _config(self, provider: str) -> OidcProviderConfig:
        config = self._providers.get(provider)
        if config is None:
            known = ", ".join(self.provider_names()) or "none"
            raise InvalidArgument.for_field(
                "provider", f"unknown identity provider {provider!r} (configured: {known})"
            )
        return config

    def _oauth(
        self, config: OidcProviderConfig, endpoints: _Endpoints, redirect_uri: str
    ) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            token_endpoint_auth_method=endpoints.token_auth_method,
            scope=" ".join(config.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT_S,
        )

    async def _endpoints_of(self, config: OidcProviderConfig) -> _Endpoints:
        cached = self._endpoints.get(config.name)
        if cached is not None and time.monotonic() - cached.fetched_at < DISCOVERY_TTL_S:
            return cached
        if config.protocol == "github":
            endpoints = _github_endpoints(config.discovery_url)
        else:
            document = await self._get_json(config, config.discovery_url, "discovery document")
            endpoints = _discovered_endpoints(config, document)
        self._endpoints[config.name] = endpoints
        return endpoints

    async def _exchange(
        self,
        config: OidcProviderConfig,
        endpoints: _Endpoints,
        code: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> dict[str, Any]:
        async with self._oauth(config, endpoints, redirect_uri) as oauth:
            try:
                token = await oauth.fetch_token(
                    endpoints.token,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
            except httpx2.HTTPStatusError as error:
                if error.response.status_code >= 500:
                    raise _unavailable(config, "token endpoint", error) from error
                raise _refused(
                    config, f"code exchange: HTTP {error.response.status_code}"
                ) from error
            except httpx2.HTTPError as error:
                raise _unavailable(config, "token endpoint", error) from error
            except OAuthError as error:
                raise _refused(config, f"code exchange refused: {error.error}") from error
            except ValueError as error:
                raise _unavailable(config, "token endpoint", error) from error
        if not isinstance(token.get("access_token"), str):
            raise _refused(config, "the token response has no access_token")
        return dict(token)

    async def _oidc_identity(
        self, config: OidcProviderConfig, endpoints: _Endpoints, token: dict[str, Any], nonce: str
    ) -> OidcIdentity:
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise _refused(config, "the token response has no ID token")
        claims = await self._verified_claims(config, endpoints, id_token, nonce)
        if "email" not in claims and endpoints.userinfo:
            claims = {**await self._userinfo(config, endpoints.userinfo, token, claims), **claims}
        return OidcIdentity(
            provider=config.name,
            subject=str(claims["sub"]),
            email=_text(claims.get("email")),
            email_verified=_is_true(claims.get("email_verified")),
            name=_display_name(claims),
        )

    async def _verified_claims(
        self, config: OidcProviderConfig, endpoints: _Endpoints, id_token: str, nonce: str
    ) -> dict[str, Any]:
        keys = await self._keys_of(config, endpoints, refresh=False)
        try:
            try:
                decoded = jwt.decode(id_token, keys.key_set, algorithms=list(keys.algorithms))
            except InvalidKeyIdError:
                keys = await self._keys_of(config, endpoints, refresh=True)
                decoded = jwt.decode(id_token, keys.key_set, algorithms=list(keys.algorithms))
            issuers = [endpoints.issuer, *ISSUER_ALIASES.get(endpoints.issuer, ())]
            registry = jwt.JWTClaimsRegistry(
                leeway=CLOCK_LEEWAY_S,
                iss={"essential": True, "values": issuers},
                aud={"essential": True, "value": config.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise _refused(config, f"ID token rejected: {error}") from error
        claims = decoded.claims
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and "azp" not in claims:
            raise _refused(config, "ID token rejected: several audiences and no azp")
        if "azp" in claims and claims["azp"] != config.client_id:
            raise _refused(config, "ID token rejected: azp is another client")
        return claims

    async def _keys_of(
        self, config: OidcProviderConfig, endpoints: _Endpoints, *, refresh: bool
    ) -> _Keys:
        cached = self._keys.get(config.name)
        now = time.monotonic()
        if cached is not None:
            age = now - cached.fetched_at
            if age < (JWKS_REFRESH_MIN_INTERVAL_S if refresh else JWKS_TTL_S):
                return cached
        if endpoints.jwks_uri is None:
            raise _unavailable(config, "JWKS", "the discovery document has no jwks_uri")
        document = await self._get_json(config, endpoints.jwks_uri, "JWKS")
        keys = _signing_keys(config, document, endpoints.signing_algorithms, now)
        self._keys[config.name] = keys
        return keys

    async def _userinfo(
        self,
        config: OidcProviderConfig,
        url: str,
        token: dict[str, Any],
        claims: dict[str, Any],
    ) -> dict[str, Any]:
        info = await self._get_json(config, url, "userinfo", bearer=token["access_token"])
        if not isinstance(info, dict) or info.get("sub") != claims["sub"]:
            raise _refused(config, "userinfo is about another subject")
        return info

    async def _github_identity(
        self, config: OidcProviderConfig, token: dict[str, Any]
    ) -> OidcIdentity:
        api = _github_api_url(config.discovery_url)
        access_token = token["access_token"]
        user = await self._get_json(config, f"{api}/user", "user", bearer=access_token)
        emails = await self._get_json(config, f"{api}/user/emails", "emails", bearer=access_token)
        if not isinstance(user, dict) or not isinstance(user.get("id"), int | str):
            raise _unavailable(config, "user", "GitHub answered no user id")
        email, verified = _github_email(emails if isinstance(emails, list) else [])
        name = _text(user.get("name")) or _text(user.get("login"))
        return OidcIdentity(
            provider=config.name,
            subject=str(user["id"]),
            email=email,
            email_verified=verified,
            name=name,
        )

    async def _get_json(
        self, config: OidcProviderConfig, url: str, what: str, *, bearer: str | None = None
    ) -> Any:
        headers = {"Accept": "application/json"}
        if config.protocol == "github":
            headers.update(_GITHUB_API_HEADERS)
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            response = await self._http.get(url, headers=headers)
        except httpx.HTTPError as error:
            raise _unavailable(config, what, error) from error
        if bearer is not None and response.status_code in (401, 403):
            raise _refused(config, f"{what}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise _unavailable(config, what, f"HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as error:
            raise _unavailable(config, what, "not JSON") from error


def _discovered_endpoints(config: OidcProviderConfig, document: Any) -> _Endpoints:
    if not isinstance(document, dict):
        raise _unavailable(config, "discovery document", "not a JSON object")
    missing = [
        key
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(document.get(key), str)
    ]
    if missing:
        raise _unavailable(config, "discovery document", f"missing {', '.join(missing)}")
    issuer = document["issuer"]
    # OpenID Connect Discovery 4.3: the document must name the issuer it was fetched under.
    if issuer.rstrip("/") + _WELL_KNOWN != config.discovery_url:
        raise _unavailable(config, "discovery document", f"issuer {issuer!r} is another one")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = (
        "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    )
    declared = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    return _Endpoints(
        issuer=issuer,
        authorization=document["authorization_endpoint"],
        token=document["token_endpoint"],
        userinfo=document.get("userinfo_endpoint"),
        jwks_uri=document["jwks_uri"],
        token_auth_method=auth_method,
        signing_algorithms=tuple(alg for alg in declared if alg in SIGNING_ALGORITHMS),
        fetched_at=time.monotonic(),
    )


def _github_endpoints(base_url: str) -> _Endpoints:
    base = base_url.rstrip("/")
    return _Endpoints(
        issuer=base,
        authorization=f"{base}/login/oauth/authorize",
        token=f"{base}/login/oauth/access_token",
        userinfo=None,
        jwks_uri=None,
        token_auth_method="client_secret_post",
        signing_algorithms=(),
        fetched_at=time.monotonic(),
    )


def _github_api_url(base_url: str) -> str:
    """github.com's REST API lives on its own host; GitHub Enterprise Server's under /api/v3."""
    base = base_url.rstrip("/")
    return "https://api.github.com" if urlsplit(base).hostname == "github.com" else f"{base}/api/v3"


def _signing_keys(
    config: OidcProviderConfig, document: Any, declared: tuple[str, ...], now: float
) -> _Keys:
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise _unavailable(config, "JWKS", "no keys")
    keys = [key for key in entries if isinstance(key, dict) and key.get("use", "sig") == "sig"]
    try:
        key_set = KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError) as error:
        raise _unavailable(config, "JWKS", error) from error
    # The algorithm comes from the provider's keys; the discovery list is the fallback.
    from_keys = sorted({key["alg"] for key in keys if key.get("alg") in SIGNING_ALGORITHMS})
    algorithms = tuple(from_keys) or declared or ("RS256",)
    return _Keys(key_set=key_set, algorithms=algorithms, fetched_at=now)


def _github_email(emails: list[Any]) -> tuple[str, bool]:
    """The primary verified email, else any verified one, else the unverified primary."""
    entries = [
        (str(entry["email"]), entry.get("primary") is True, entry.get("verified") is True)
        for entry in emails
        if isinstance(entry, dict) and entry.get("email")
    ]
    ranked = sorted(entries, key=lambda entry: (not entry[2], not entry[1]))
    if not ranked or not (ranked[0][1] or ranked[0][2]):
        return "", False
    email, _, verified = ranked[0]
    return email, verified


def _display_name(claims: Mapping[str, Any]) -> str:
    if name := _text(claims.get("name")):
        return name
    given = " ".join(
        part for part in (_text(claims.get("given_name")), _text(claims.get("family_name"))) if part
    )
    return given or _text(claims.get("preferred_username"))


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _is_true(value: Any) -> bool:
    # Some providers send the JSON string "true" instead of a boolean.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _refused(config: OidcProviderConfig, detail: str) -> Unauthenticated:
    return Unauthenticated(
        f"identity provider {config.name!r}: {detail}", metadata={"provider": config.name}
    )


def _unavailable(config: OidcProviderConfig, what: str, cause: object) -> Unavailable:
    return Unavailable(f"identity provider {config.name!r} unavailable ({what}): {cause}")
