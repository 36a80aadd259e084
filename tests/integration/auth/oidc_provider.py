"""A local identity provider for the tests, built on Authlib's authorization server components.

It speaks the real protocol over HTTP (Starlette on granian, one subprocess per provider):

- OpenID Connect: `/.well-known/openid-configuration`, `/authorize`, `/token`, `/jwks`,
  `/userinfo`; ID tokens signed RS256 with a key generated at start.
- GitHub's layout (OAuth2, no ID token): `/login/oauth/authorize`, `/login/oauth/access_token`,
  `/api/v3/user`, `/api/v3/user/emails`, as a GitHub Enterprise Server at the same base URL.

Every client is confidential: the token endpoint authenticates it with its secret (HTTP Basic or
form) and PKCE S256 is required and checked. The authorization endpoint approves at once, for
the user named by `login_hint` (subject, email or login), else the first configured user, and
redirects to the registered `redirect_uri` with `code` and `state`. A client with
`forge_id_tokens` gets ID tokens signed by a key the JWKS does not publish (same `kid`).

Run by `serve_oidc_provider` as `python oidc_provider.py CONFIG_JSON PORT`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin as OidcAuthorizationCodeMixin
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agora.platform.net import free_port

HERE = Path(__file__).parent
WELL_KNOWN = "/.well-known/openid-configuration"
KEY_ID = "local-provider-1"
CODE_TTL_S = 600


@dataclass(frozen=True)
class ProviderEmail:
    """An extra address of a user, as GitHub's `/user/emails` lists it."""

    email: str
    verified: bool


@dataclass(frozen=True)
class ProviderUser:
    subject: str
    email: str
    email_verified: bool = True
    name: str = ""
    login: str = ""
    other_emails: tuple[ProviderEmail, ...] = ()


@dataclass(frozen=True)
class ProviderClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    forge_id_tokens: bool = False


@dataclass(frozen=True)
class ProviderSetup:
    users: tuple[ProviderUser, ...]
    clients: tuple[ProviderClient, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ProviderSetup:
        raw = json.loads(text)
        users = tuple(
            ProviderUser(
                **{**user, "other_emails": tuple(ProviderEmail(**e) for e in user["other_emails"])}
            )
            for user in raw["users"]
        )
        clients = tuple(
            ProviderClient(**{**client, "redirect_uris": tuple(client["redirect_uris"])})
            for client in raw["clients"]
        )
        return cls(users=users, clients=clients)


@dataclass(frozen=True)
class RunningProvider:
    issuer: str

    @property
    def discovery_url(self) -> str:
        return self.issuer + WELL_KNOWN

    @property
    def github_base_url(self) -> str:
        return self.issuer


class RegisteredClient(ClientMixin):
    def __init__(self, client: ProviderClient) -> None:
        self.client = client
        self.client_id = client.client_id

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> str:
        return self.client.redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.client.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return client_secret == self.client.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class IssuedCode(OidcAuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: ProviderUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    issued_at: float = field(default_factory=time.monotonic)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass(frozen=True)
class IssuedToken:
    user: ProviderUser
    scope: str


class StarletteOAuth2Payload(OAuth2Payload):
    """Authlib's view of the request parameters (query and form together)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):
    def __init__(self, request: Request, form: list[tuple[str, str]]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self._args = dict(request.query_params)
        self._form = dict(form)
        self.payload = StarletteOAuth2Payload([*request.query_params.multi_items(), *form])

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class S256Required(CodeChallenge):
    """PKCE for every client (confidential ones too), S256 only."""

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with S256 is required", redirect_uri=redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        nonce = data.get("nonce")
        provider: LocalProvider = self.server
        if nonce:
            provider.used_nonces.add(nonce)
        provider.codes[code] = IssuedCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope or "",
            user=request.user,
            nonce=nonce,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=int(time.time()),
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> IssuedCode | None:
        issued = self.server.codes.get(code)
        if issued is None or issued.client_id != client.get_client_id():
            return None
        if time.monotonic() - issued.issued_at > CODE_TTL_S:
            return None
        return issued

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        self.server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: IssuedCode) -> ProviderUser:
        return authorization_code.user


class IdTokens(OpenIDCode):
    def __init__(self, provider: LocalProvider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return nonce in self.provider.used_nonces

    def resolve_client_private_key(self, client: RegisteredClient) -> RSAKey:
        return self.provider.forged_key if client.client.forge_id_tokens else self.provider.key

    def get_client_algorithm(self, client: RegisteredClient) -> str:
        return "RS256"

    def get_encode_header(self, client: RegisteredClient) -> dict[str, str]:
        return {"alg": "RS256", "kid": KEY_ID}

    def get_client_claims(self, client: RegisteredClient) -> dict[str, Any]:
        return {"iss": self.provider.issuer, "aud": [client.get_client_id()]}

    def generate_user_info(self, user: ProviderUser, scope: str) -> UserInfo:
        return user_info(user, scope)


def user_info(user: ProviderUser, scope: str) -> UserInfo:
    claims = UserInfo(sub=user.subject)
    scopes = scope.split()
    if "email" in scopes:
        claims.update(email=user.email, email_verified=user.email_verified)
    if "profile" in scopes:
        claims.update(name=user.name, preferred_username=user.login or None)
    return claims


class LocalProvider(AuthorizationServer):
    """Authlib's authorization server with in-memory clients, codes and tokens."""

    def __init__(self, setup: ProviderSetup, issuer: str) -> None:
        super().__init__()
        self.issuer = issuer
        self.users = setup.users
        self.clients = {client.client_id: RegisteredClient(client) for client in setup.clients}
        self.codes: dict[str, IssuedCode] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.used_nonces: set[str] = set()
        key_parameters = {"kid": KEY_ID, "alg": "RS256", "use": "sig"}
        self.key = RSAKey.generate_key(2048, parameters=key_parameters)
        self.forged_key = RSAKey.generate_key(2048, parameters=key_parameters)
        self.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: generate_token(42))
        )
        self.register_grant(CodeGrant, [S256Required(required=True), IdTokens(self)])

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.tokens[token["access_token"]] = IssuedToken(request.user, token.get("scope", ""))

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(
        self, status: int, body: dict[str, Any] | str, headers: list[tuple[str, str]]
    ) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else body
        return Response(content, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals here."""

    def user_for(self, login_hint: str | None) -> ProviderUser:
        for user in self.users:
            if login_hint in (user.subject, user.email, user.login):
                return user
        return self.users[0]

    def bearer_token(self, request: Request) -> IssuedToken | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return self.tokens.get(value) if scheme.lower() in ("bearer", "token") else None


def provider_app(setup: ProviderSetup, issuer: str) -> Starlette:
    """The provider's HTTP routes around one `LocalProvider`."""
    provider = LocalProvider(setup, issuer)

    async def discovery(_: Request) -> Response:
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "jwks_uri": f"{issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code"],
            }
        )

    async def authorize(request: Request) -> Response:
        oauth_request = StarletteOAuth2Request(request, [])
        try:
            grant = provider.get_authorization_grant(oauth_request)
        except OAuth2Error as error:
            return provider.handle_error_response(oauth_request, error)
        user = provider.user_for(request.query_params.get("login_hint"))
        return provider.create_authorization_response(oauth_request, grant_user=user, grant=grant)

    async def token(request: Request) -> Response:
        # A form body, parsed here: python-multipart is not a dependency.
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        return provider.create_token_response(StarletteOAuth2Request(request, pairs))

    async def jwks(_: Request) -> Response:
        return JSONResponse(KeySet([provider.key]).as_dict(private=False))

    async def userinfo(request: Request) -> Response:
        issued = provider.bearer_token(request)
        if issued is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(dict(user_info(issued.user, issued.scope)))

    async def github_user(request: Request) -> Response:
        issued = provider.bearer_token(request)
        if issued is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        user = issued.user
        user_id: int | str = int(user.subject) if user.subject.isdigit() else user.subject
        return JSONResponse(
            {"id": user_id, "login": user.login, "name": user.name or None, "email": None}
        )

    async def github_emails(request: Request) -> Response:
        issued = provider.bearer_token(request)
        if issued is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        if "user:email" not in issued.scope.replace(",", " ").split():
            return JSONResponse({"message": "Not Found"}, status_code=404)
        user = issued.user
        primary = {"email": user.email, "primary": True, "verified": user.email_verified}
        others = [
            {"email": other.email, "primary": False, "verified": other.verified}
            for other in user.other_emails
        ]
        return JSONResponse([primary, *others])

    return Starlette(
        routes=[
            Route(WELL_KNOWN, discovery),
            Route("/authorize", authorize),
            Route("/token", token, methods=["POST"]),
            Route("/jwks", jwks),
            Route("/userinfo", userinfo),
            Route("/login/oauth/authorize", authorize),
            Route("/login/oauth/access_token", token, methods=["POST"]),
            Route("/api/v3/user", github_user),
            Route("/api/v3/user/emails", github_emails),
        ]
    )


def provider_app_from_file(config_path: str, issuer: str) -> Starlette:
    return provider_app(ProviderSetup.from_json(Path(config_path).read_text()), issuer)


@asynccontextmanager
async def serve_oidc_provider(
    setup: ProviderSetup, work_dir: Path
) -> AsyncIterator[RunningProvider]:
    """Run a provider process on a free port until the block ends."""
    port = free_port()
    config_path = work_dir / f"oidc-provider-{port}.json"
    config_path.write_text(setup.to_json())
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "oidc_provider.py"), str(config_path), str(port), cwd=HERE
    )
    running = RunningProvider(issuer=f"http://127.0.0.1:{port}")
    try:
        await _wait_until_serving(running, process)
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_until_serving(
    running: RunningProvider, process: asyncio.subprocess.Process
) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(timeout=0.5) as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, "the OIDC provider process exited"
            try:
                if (await http.get(running.discovery_url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{running.issuer} never served its discovery document")


def main(config_path: str, port: str) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    server = Granian(
        "oidc_provider:provider_app_from_file",
        address="127.0.0.1",
        port=int(port),
        interface=Interfaces.ASGI,
        workers=1,
    )
    loader = partial(provider_app_from_file, config_path, f"http://127.0.0.1:{port}")
    server.serve(target_loader=loader, wrap_loader=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
