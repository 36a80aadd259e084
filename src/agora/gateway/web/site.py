"""The web pages' machinery: who is asking (`Page`), calling the services on their behalf,
rendering a template under a strict Content-Security-Policy, checking a form, and the error pages.

Pages are rendered on the server (docs/adr/0012-web-stack.md). A page handler is
`async def handler(request) -> Response` that asks `site.page(request)` for the caller, calls
the services through `page.call(...)` with the caller's own credentials (so the services decide,
as for the API), and answers `site.render(page, "store/x.html", ...)`. A form posts back to the
page's own path; `await site.form(page)` refuses it unless it comes from this origin with the
CSRF token of this browser's session. Scripts in the pages call the REST API (`/v1/…`) with
the session cookie and the `X-CSRF-Token` the layout carries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import grpc
import structlog
from google.protobuf.message import Message
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from agora._proto.agora.auth.v1 import auth_pb2
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora.gateway.browser_session import (
    CLEARED_COOKIES,
    CsrfTokens,
    refresh_cookie_parts,
    session_cookies,
    session_of_access_token,
)
from agora.gateway.caller import (
    ACCESS_COOKIE,
    REFRESH_COOKIE,
    REQUEST_ID_SCOPE_KEY,
    Caller,
    CallerReader,
    backend_metadata,
)
from agora.gateway.problem import Problem, problem_from_rpc_error
from agora.gateway.ratelimit import ACCOUNT_FIELD, Limits, RateLimiter, normalized_account
from agora.gateway.web.i18n import Language, languages, negotiate
from agora.platform.errors import Unauthenticated
from agora.platform.security.principal import Principal
from agora.platform.security.tokens import TokenVerifier

log = structlog.get_logger("agora.gateway.web")

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_PREFIX = "/static/"
# The admin space's navigation: (path, label), in the order the sidebar shows them.
ADMIN_SECTIONS = (
    ("/admin", "Dashboard"),
    ("/admin/orders", "Orders"),
    ("/admin/products", "Products"),
    ("/admin/customers", "Customers"),
    ("/admin/staff", "Staff"),
    ("/admin/content", "Content"),
    ("/admin/reports", "Reports"),
    ("/admin/reconciliation", "Crypto reconciliation"),
    ("/admin/support", "Support queue"),
    ("/admin/audit", "Audit log"),
)

LOCALE_COOKIE = "__Host-agora_locale"
CURRENCY_COOKIE = "__Host-agora_currency"
# A random id per browser: the CSRF token of a guest's forms is bound to it.
VISITOR_COOKIE = "__Host-agora_visitor"
CSRF_FIELD = "_csrf"
PREFERENCE_MAX_AGE_S = 365 * 24 * 3600
_COOKIE_ATTRIBUTES = "Path=/; Secure; SameSite=Lax"

StubT = TypeVar("StubT")
AnswerT = TypeVar("AnswerT", bound=Message)
ChannelFor = Callable[[str], grpc.aio.Channel]


def content_security_policy(nonce: str) -> str:
    """The pages' CSP: scripts only with this answer's nonce (and what they load), styles,
    images and fonts of this origin, API calls and streams to this origin; no framing, no
    plugins, no inline style or script."""
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}' 'strict-dynamic'; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    )


class WebRefusal(Exception):
    """A request the pages refuse before calling anything: a form without its CSRF token, or
    from another origin (403), a malformed one (400), or one over a rate limit (429)."""

    def __init__(self, status: int, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class MethodLimits:
    """The API's own per-method limits (`rule.rate_limit`), applied to the pages' calls of the
    same methods with the same counters: a sign-in form is no way around the API's limits."""

    limiter: RateLimiter
    by_method: Mapping[str, Limits]  # full method name (`agora.auth.v1.AuthService.Login`)
    per_account: frozenset[str]  # methods also limited per the request's `email`

    async def wait(self, method: str, message: Message, client_ip: str) -> int | None:
        """Seconds to wait before calling `method` again, or None to go ahead."""
        limits = self.by_method.get(method)
        if limits is None:
            return None
        wait = await self.limiter.method_wait(limits, method, "ip", client_ip)
        if wait is None and method in self.per_account:
            account = normalized_account(getattr(message, ACCOUNT_FIELD, ""))
            if account:
                wait = await self.limiter.method_wait(limits, method, "account", account)
        return wait


@dataclass
class Page:
    """One page request: who asks, in which language and currency, and how to call the
    services for them."""

    request: Request
    caller: Caller
    principal: Principal | None
    language: Language
    currency: str
    nonce: str
    csrf_token: str
    metadata: tuple[tuple[str, str], ...]
    channel_for: ChannelFor
    timeout_s: float
    limits: MethodLimits | None = None
    # Cookies this answer must set (a renewed session, a new visitor id, a preference).
    set_cookies: list[tuple[bytes, bytes]] = field(default_factory=list)
    _stubs: dict[type[Any], Any] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return self.principal is not None and self.principal.is_authenticated

    @property
    def user_id(self) -> str:
        return self.principal.subject if self.principal is not None else ""

    def can(self, permission: str) -> bool:
        return self.principal is not None and self.principal.can(permission)

    def stub(self, stub_class: Callable[[grpc.aio.Channel], StubT], backend: str) -> StubT:
        """The client of `backend` (`catalog`, `orders`, …) for this request."""
        stub = self._stubs.get(stub_class)  # type: ignore[call-overload]
        if stub is None:
            stub = stub_class(self.channel_for(backend))
            self._stubs[stub_class] = stub  # type: ignore[index]
        return stub  # type: ignore[no-any-return]

    async def call(
        self,
        method: Callable[..., Awaitable[AnswerT]],
        request: Message,
        *,
        timeout_s: float | None = None,
    ) -> AnswerT:
        """`method(request)` on behalf of the caller (their credentials, IP, user agent and
        the request id), counted against the method's own rate limits like an API call (over
        them: `WebRefusal` 429). A failure raises `grpc.aio.AioRpcError`; `Site` turns an
        uncaught one into the right error page."""
        if self.limits is not None:
            name = _method_name(method)
            wait = await self.limits.wait(name, request, self.caller.client_ip)
            if wait is not None:
                raise WebRefusal(
                    429,
                    self.t("Too many attempts. Please wait %(s)s seconds.", s=wait),
                    retry_after_s=wait,
                )
        return await method(request, metadata=self.metadata, timeout=timeout_s or self.timeout_s)

    def t(self, message: str, **values: object) -> str:
        return self.language.gettext(message, **values)


class Site:
    """What every page handler shares: templates, static files, the services' channels, the
    token verifier and the CSRF key."""

    def __init__(
        self,
        channel_for: ChannelFor,
        csrf: CsrfTokens,
        *,
        verifier: TokenVerifier | None,
        gateway_proof: Callable[[], str] | None,
        caller_reader: CallerReader,
        locales: tuple[str, ...],
        currencies: tuple[str, ...],
        timeout_s: float,
        shop_name: str = "Agora",
        limits: MethodLimits | None = None,
    ) -> None:
        self.channel_for = channel_for
        self.csrf = csrf
        self.verifier = verifier
        self.gateway_proof = gateway_proof
        self.caller_reader = caller_reader
        self.languages = languages(locales)
        self.locales = locales
        self.currencies = currencies
        self.timeout_s = timeout_s
        self.shop_name = shop_name
        self.limits = limits
        self.static_versions = _static_versions(STATIC_DIR)
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            enable_async=False,
        )
        self.templates.globals.update(
            static=self.static_url, shop_name=shop_name, admin_sections=ADMIN_SECTIONS
        )

    def static_url(self, name: str) -> str:
        """The URL of a static file, with its content hash: cached for a year, never stale."""
        version = self.static_versions.get(name)
        if version is None:
            raise KeyError(f"no static file {name!r}")
        return f"{STATIC_PREFIX}{name}?v={version}"

    async def page(self, request: Request) -> Page:
        """The caller of this request; a session whose access cookie expired is renewed here
        from its refresh cookie (the answer then carries the new cookies)."""
        caller = self.caller_reader.read(request.scope)
        set_cookies: list[tuple[bytes, bytes]] = []
        principal = await self._principal(caller)
        if principal is None and caller.cookies.get(REFRESH_COOKIE):
            principal = await self._renewed(request, caller, set_cookies)
        visitor = caller.cookies.get(VISITOR_COOKIE, "")
        if principal is None and not _is_visitor_id(visitor):
            visitor = secrets.token_urlsafe(18)
            set_cookies.append(
                _cookie(VISITOR_COOKIE, visitor, PREFERENCE_MAX_AGE_S, http_only=True)
            )
        session_id = session_of_access_token(caller.token) if principal is not None else ""
        csrf_token = self.csrf.for_session(session_id or f"visitor:{visitor}")
        request_id: str = request.scope.get(REQUEST_ID_SCOPE_KEY, "")
        proof = self.gateway_proof() if self.gateway_proof is not None else None
        return Page(
            request=request,
            caller=caller,
            principal=principal,
            language=self.languages[self._locale(request)],
            currency=self._currency(request),
            nonce=secrets.token_urlsafe(18),
            csrf_token=csrf_token,
            metadata=backend_metadata(caller, request_id, proof),
            channel_for=self.channel_for,
            timeout_s=self.timeout_s,
            limits=self.limits,
            set_cookies=set_cookies,
        )

    async def _principal(self, caller: Caller) -> Principal | None:
        if not caller.token or self.verifier is None:
            return None
        try:
            return await self.verifier.verify(caller.token)
        except Unauthenticated:
            return None

    async def _renewed(
        self, request: Request, caller: Caller, set_cookies: list[tuple[bytes, bytes]]
    ) -> Principal | None:
        """Refresh the session from its refresh cookie; its failure signs the browser out."""
        _, refresh_token = refresh_cookie_parts(caller.cookies.get(REFRESH_COOKIE, ""))
        if not refresh_token:
            return None
        request_id: str = request.scope.get(REQUEST_ID_SCOPE_KEY, "")
        proof = self.gateway_proof() if self.gateway_proof is not None else None
        anonymous = Caller(caller.client_ip, caller.user_agent, "", False, {}, "")
        try:
            tokens = await AuthServiceStub(self.channel_for("auth")).Refresh(  # type: ignore[no-untyped-call]
                auth_pb2.RefreshRequest(refresh_token=refresh_token),
                metadata=backend_metadata(anonymous, request_id, proof),
                timeout=self.timeout_s,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND):
                set_cookies.extend(CLEARED_COOKIES)
            return None
        set_cookies.extend(session_cookies(tokens, self.csrf))
        caller.authorization = f"Bearer {tokens.access_token}"
        caller.by_cookie = True
        caller.cookies[ACCESS_COOKIE] = tokens.access_token
        return await self._principal(caller)

    def _locale(self, request: Request) -> str:
        chosen = request.cookies.get(LOCALE_COOKIE, "")
        if chosen in self.languages:
            return chosen
        return negotiate(request.headers.get("accept-language", "")[:512], self.locales)

    def _currency(self, request: Request) -> str:
        chosen = request.cookies.get(CURRENCY_COOKIE, "")
        return chosen if chosen in self.currencies else self.currencies[0]

    def render(
        self,
        page: Page,
        template: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """`template` rendered for `page`, with this answer's CSP nonce and the page's cookies.

        Every template sees `page`, `_` (the page's language), `money`, `static` and
        `csrf_field` besides `context`. Pages are personal: never cached by anyone."""
        body = self.templates.get_template(template).render(
            page=page,
            _=page.language.gettext,
            money=page.language.money,
            nonce=page.nonce,
            csrf_token=page.csrf_token,
            csrf_field=CSRF_FIELD,
            site=self,
            **context,
        )
        response = HTMLResponse(body, status_code=status, headers=dict(headers or {}))
        response.headers["content-security-policy"] = content_security_policy(page.nonce)
        response.headers["cache-control"] = "no-store"
        response.headers["vary"] = "Cookie, Accept-Language"
        response.headers["referrer-policy"] = "same-origin"
        self.finish(page, response)
        return response

    def redirect(self, page: Page, url: str, status: int = 303) -> RedirectResponse:
        """A redirect (after a form, 303) carrying the page's cookies; only to this site."""
        response = RedirectResponse(safe_next(url), status_code=status)
        response.headers["referrer-policy"] = "same-origin"
        self.finish(page, response)
        return response

    def finish(self, page: Page, response: Response) -> None:
        """Put the cookies `page` collected on `response`."""
        for key, value in page.set_cookies:
            response.raw_headers.append((key, value))

    async def form(self, page: Page) -> FormData:
        """The posted form, once it is known to come from this site's page in this browser:
        same origin (`Origin`, else `Referer`) and the CSRF token of this session or visitor."""
        request = page.request
        if not _same_origin(request):
            raise WebRefusal(403, page.t("This form was sent from another site."))
        try:
            form = await request.form(max_files=8, max_fields=500, max_part_size=1024 * 1024)
        except Exception as error:
            raise WebRefusal(400, page.t("The form could not be read.")) from error
        sent = form.get(CSRF_FIELD)
        if not isinstance(sent, str) or not hmac.compare_digest(
            sent.encode(), page.csrf_token.encode()
        ):
            raise WebRefusal(403, page.t("This form has expired. Please try again."))
        return form

    def error_page(self, page: Page, status: int, message: str) -> HTMLResponse:
        """An error page in the page's area (shop or admin) and language."""
        area = "admin" if page.request.url.path.startswith("/admin") else "store"
        return self.render(
            page,
            "errors/error.html",
            status=status,
            area=area,
            status_code=status,
            message=message,
        )

    def problem_page(self, page: Page, error: grpc.aio.AioRpcError) -> Response:
        """The answer to a failed call nobody handled: sign in again, or an error page with
        the API's own wording of the problem (never transport internals)."""
        problem = problem_from_rpc_error(error)
        if problem.status == 401:
            path = page.request.url.path
            login = "/admin/login" if path.startswith("/admin") else "/account/login"
            return self.redirect(page, f"{login}?next={quote(_path_and_query(page.request))}")
        return self.error_page(page, problem.status, user_message(page, problem))


def _method_name(method: object) -> str:
    """`agora.auth.v1.AuthService.Login` for a stub's bound method (gRPC keeps its path)."""
    path = getattr(method, "_method", b"")
    text = path.decode() if isinstance(path, bytes) else str(path)
    return text.lstrip("/").replace("/", ".")


def user_message(page: Page, problem: Problem) -> str:
    """What a shopper or staff member reads about a problem."""
    if problem.status == 403:
        return page.t("You may not see this page.")
    if problem.status == 404:
        return page.t("Page not found")
    if problem.status >= 500:
        return page.t("Please try again in a moment.")
    return problem.detail or problem.title


def safe_next(url: str) -> str:
    """`url` when it is a path of this site; `/` otherwise (no open redirect)."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return "/"
    return url


def _path_and_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _same_origin(request: Request) -> bool:
    host = request.headers.get("host", "")
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc == host


def _is_visitor_id(value: str) -> bool:
    return 16 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


def _cookie(name: str, value: str, max_age: int, *, http_only: bool) -> tuple[bytes, bytes]:
    text = f"{name}={value}; Max-Age={max_age}; {_COOKIE_ATTRIBUTES}"
    if http_only:
        text += "; HttpOnly"
    return (b"set-cookie", text.encode("latin-1"))


def preference_cookie(name: str, value: str) -> tuple[bytes, bytes]:
    """A language or currency choice, kept a year."""
    return _cookie(name, value, PREFERENCE_MAX_AGE_S, http_only=True)


def _static_versions(directory: Path) -> dict[str, str]:
    """`{relative path: first 10 hex digits of its SHA-256}` of every static file."""
    versions: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            digest = hashlib.sha256(path.read_bytes()).digest()
            name = path.relative_to(directory).as_posix()
            versions[name] = base64.b32encode(digest).decode()[:10].lower()
    return versions
