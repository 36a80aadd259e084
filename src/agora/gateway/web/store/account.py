"""Storefront: the account (register, verify, 2FA sign-in, sessions, orders, returns) and the
support chat.

Sign-in is auth's Login (then VerifyLoginTotp when the account has 2FA) called by the page,
whose answer carries the same session cookies the API's `"useCookies": true` sets
(`browser_session.session_cookies`), so pages, scripts and the chat's WebSocket share one
session. The MFA token of the second step travels in a hidden form field, never in a URL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from agora._proto.agora.auth.v1 import auth_pb2
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora._proto.agora.orders.v1 import orders_pb2
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.gateway.browser_session import CLEARED_COOKIES, session_cookies
from agora.gateway.problem import Problem, problem_from_rpc_error
from agora.gateway.web.qr import qr_data_url
from agora.gateway.web.site import Page, Site, WebRefusal, safe_next, user_message
from agora.platform.kernel.checks import whole_number

MIN_PASSWORD_LENGTH = 12  # auth's rule (RegisterRequest.password)
ORDERS_PAGE_SIZE = 20
# Orders whose tracking the history shows (read with GetOrder: the list has no tracking).
TRACKED = frozenset({orders_pb2.ORDER_STATUS_SHIPPED, orders_pb2.ORDER_STATUS_DELIVERED})
RETURNABLE = TRACKED
STATUS_TEXT = {
    orders_pb2.ORDER_STATUS_PLACED: "Placed",
    orders_pb2.ORDER_STATUS_AWAITING_PAYMENT: "Awaiting payment",
    orders_pb2.ORDER_STATUS_PAID: "Paid",
    orders_pb2.ORDER_STATUS_FULFILLED: "Packed",
    orders_pb2.ORDER_STATUS_SHIPPED: "Shipped",
    orders_pb2.ORDER_STATUS_DELIVERED: "Delivered",
    orders_pb2.ORDER_STATUS_CANCELLED: "Cancelled",
    orders_pb2.ORDER_STATUS_EXPIRED: "Expired",
    orders_pb2.ORDER_STATUS_REFUNDED: "Refunded",
}
STATUS_TONE = {
    orders_pb2.ORDER_STATUS_PAID: "ok",
    orders_pb2.ORDER_STATUS_SHIPPED: "ok",
    orders_pb2.ORDER_STATUS_DELIVERED: "ok",
    orders_pb2.ORDER_STATUS_AWAITING_PAYMENT: "warn",
    orders_pb2.ORDER_STATUS_CANCELLED: "bad",
    orders_pb2.ORDER_STATUS_EXPIRED: "bad",
}
RETURN_STATUS_TEXT = {
    orders_pb2.RETURN_STATUS_REQUESTED: "Requested",
    orders_pb2.RETURN_STATUS_APPROVED: "Approved",
    orders_pb2.RETURN_STATUS_REJECTED: "Rejected",
}
RETURN_DECISION_TEXT = {
    orders_pb2.RETURN_STATUS_APPROVED: "Approved on %(date)s",
    orders_pb2.RETURN_STATUS_REJECTED: "Rejected on %(date)s",
}
FormErrors = dict[str, str]
OTPAUTH_PREFIX = "otpauth://totp/"
_BASE32 = re.compile(r"[A-Z2-7]{16,128}")


def _text(form: FormData, name: str, max_len: int = 4096) -> str:
    value = form.get(name)
    return value.strip()[:max_len] if isinstance(value, str) else ""


def _key(form: FormData) -> str:
    """The idempotency key the form was rendered with (a retried POST repeats it)."""
    sent = _text(form, "idempotency_key", 128)
    return sent or str(uuid.uuid4())


def _moment(stamp: Timestamp) -> dt.datetime | None:
    return stamp.ToDatetime(tzinfo=dt.UTC) if stamp.seconds else None


def _decision_text(page: Page, item: orders_pb2.ReturnRequest) -> str:
    """What staff decided and when ("Rejected on Dec 4, 2026"); "" while not decided yet."""
    decided, text = _moment(item.decided_at), RETURN_DECISION_TEXT.get(item.status)
    if decided is None or text is None:
        return ""
    return page.t(text, date=page.language.date(decided))


def _field_errors(problem: Problem, known: Mapping[str, str]) -> FormErrors:
    """Field violations of `problem` by form field (`known` maps the API's names to them)."""
    errors: FormErrors = {}
    for violation in problem.errors:
        name = known.get(violation.field)
        if name and name not in errors:
            errors[name] = violation.description
    return errors


def routes(site: Site) -> list[BaseRoute]:
    def auth(page: Page) -> AuthServiceStub:
        return page.stub(AuthServiceStub, "auth")

    def orders(page: Page) -> OrdersServiceStub:
        return page.stub(OrdersServiceStub, "orders")

    def to_login(page: Page) -> Response:
        request = page.request
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return site.redirect(page, f"/account/login?next={quote(here)}")

    def login_message(page: Page, problem: Problem) -> str:
        """A sign-in refusal in the shopper's words (lockouts with their wait)."""
        if problem.status == 429:
            if problem.retry_after_s:
                return page.t(
                    "Too many attempts. Please try again in %(seconds)s seconds.",
                    seconds=problem.retry_after_s,
                )
            return page.t("Too many attempts. Please wait a moment and try again.")
        if problem.reason == "EMAIL_NOT_VERIFIED":
            return page.t(
                "Please confirm your email address first: follow the link in the mail we sent you."
            )
        if problem.reason == "ACCOUNT_LOCKED":
            return page.t("This account is locked. Please contact our support.")
        if problem.reason == "MFA_TOKEN_INVALID":
            return page.t("This sign-in has expired. Please enter your email and password again.")
        if problem.reason == "MFA_CODE_INVALID" or problem.status == 400:
            return page.t("That code is not valid. Check your authenticator app and try again.")
        if problem.status == 401:
            return page.t("Wrong email or password.")
        return user_message(page, problem)

    # --- registration and verification ---

    async def register(request: Request) -> Response:
        page = await site.page(request)
        if page.signed_in:
            return site.redirect(page, "/account")
        values = {"email": "", "name": ""}
        errors: FormErrors = {}
        message = ""
        status = 200
        key = str(uuid.uuid4())
        if request.method == "POST":
            form = await site.form(page)
            key = _key(form)
            values = {"email": _text(form, "email", 254), "name": _text(form, "name", 200)}
            password = _text(form, "password", 256)
            if len(password) < MIN_PASSWORD_LENGTH:
                errors["password"] = page.t("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
            if not values["email"]:
                errors["email"] = page.t("Enter your email address.")
            if not errors:
                try:
                    await page.call(
                        auth(page).Register,
                        auth_pb2.RegisterRequest(
                            idempotency_key=key,
                            email=values["email"],
                            password=password,
                            name=values["name"],
                        ),
                    )
                    return site.redirect(page, "/account/registered")
                except WebRefusal as refusal:
                    if refusal.status != 429:
                        raise
                    message = refusal.message
                except grpc.aio.AioRpcError as error:
                    problem = problem_from_rpc_error(error)
                    if problem.status >= 500:
                        raise
                    errors = _field_errors(
                        problem, {"email": "email", "password": "password", "name": "name"}
                    )
                    if problem.status == 429:
                        message = login_message(page, problem)
                    elif not errors:
                        message = user_message(page, problem)
            status = 422
        return site.render(
            page,
            "store/account/register.html",
            status=status,
            values=values,
            errors=errors,
            message=message,
            idempotency_key=key,
            min_password=MIN_PASSWORD_LENGTH,
        )

    async def registered(request: Request) -> Response:
        page = await site.page(request)
        return site.render(page, "store/account/registered.html")

    async def verify(request: Request) -> Response:
        """The mailed link opens this page; the button confirms (a mail scanner fetching the
        link must not use the single-use token up)."""
        page = await site.page(request)
        token = request.query_params.get("token", "")[:4096]
        verified = ""
        message = ""
        status = 200
        key = str(uuid.uuid4())
        if request.method == "POST":
            form = await site.form(page)
            token, key = _text(form, "token"), _key(form)
            try:
                answer = await page.call(
                    auth(page).VerifyEmail,
                    auth_pb2.VerifyEmailRequest(idempotency_key=key, token=token),
                )
                verified = answer.email
            except grpc.aio.AioRpcError as error:
                problem = problem_from_rpc_error(error)
                if problem.status >= 500:
                    raise
                message = page.t(
                    "This link is no longer valid. It works once, for 24 hours: "
                    "register again to get a new one."
                )
                status = 400
        return site.render(
            page,
            "store/account/verify.html",
            status=status,
            token=token,
            verified=verified,
            message=message,
            idempotency_key=key,
        )

    # --- forgotten password ---

    async def password_reset(request: Request) -> Response:
        """Without a token: ask for the mail with a reset link (the answer never tells whether
        the address has an account). With the mailed token: choose a new password."""
        page = await site.page(request)
        token = request.query_params.get("token", "")[:4096]
        email = ""
        message = ""
        status = 200
        done = ""
        key = str(uuid.uuid4())
        if request.method == "POST":
            form = await site.form(page)
            token, key = _text(form, "token"), _key(form)
            try:
                if token:
                    password = _text(form, "password", 256)
                    if len(password) < MIN_PASSWORD_LENGTH:
                        message = page.t("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
                    else:
                        await page.call(
                            auth(page).ResetPassword,
                            auth_pb2.ResetPasswordRequest(
                                idempotency_key=key, token=token, new_password=password
                            ),
                        )
                        done = "changed"
                else:
                    email = _text(form, "email", 254)
                    await page.call(
                        auth(page).RequestPasswordReset,
                        auth_pb2.RequestPasswordResetRequest(idempotency_key=key, email=email),
                    )
                    done = "sent"
            except WebRefusal as refusal:
                if refusal.status != 429:
                    raise
                message = refusal.message
            except grpc.aio.AioRpcError as error:
                problem = problem_from_rpc_error(error)
                if problem.status >= 500:
                    raise
                if token and problem.status in (400, 401, 404, 410):
                    message = page.t("This link is no longer valid. Ask for a new one below.")
                    token = ""
                else:
                    message = (
                        login_message(page, problem)
                        if problem.status == 429
                        else (user_message(page, problem))
                    )
            if message:
                status = 422
        return site.render(
            page,
            "store/account/password_reset.html",
            status=status,
            token=token,
            email=email,
            done=done,
            message=message,
            idempotency_key=key,
            min_password=MIN_PASSWORD_LENGTH,
        )

    # --- signing in and out ---

    def signed_in_answer(page: Page, tokens: auth_pb2.Tokens, next_url: str) -> Response:
        page.set_cookies.extend(session_cookies(tokens, site.csrf))
        return site.redirect(page, safe_next(next_url or "/account"))

    async def login(request: Request) -> Response:
        page = await site.page(request)
        next_url = safe_next(request.query_params.get("next", "/account"))
        if request.method == "GET" and page.signed_in:
            return site.redirect(page, next_url)
        email = ""
        message = ""
        status = 200
        if request.method == "POST":
            form = await site.form(page)
            email = _text(form, "email", 254)
            next_url = safe_next(_text(form, "next", 2000) or "/account")
            try:
                answer = await page.call(
                    auth(page).Login,
                    auth_pb2.LoginRequest(email=email, password=_text(form, "password", 256)),
                )
            except WebRefusal as refusal:  # the API's own rate limit, counted for pages too
                if refusal.status != 429:
                    raise
                message, status = refusal.message, 429
            except grpc.aio.AioRpcError as error:
                problem = problem_from_rpc_error(error)
                if problem.status >= 500:
                    raise
                message = login_message(page, problem)
                status = 429 if problem.status == 429 else 401
            else:
                if answer.mfa_required:
                    return site.render(
                        page,
                        "store/account/login_code.html",
                        mfa_token=answer.mfa_token,
                        next_url=next_url,
                        message="",
                    )
                return signed_in_answer(page, answer.tokens, next_url)
        return site.render(
            page,
            "store/account/login.html",
            status=status,
            email=email,
            next_url=next_url,
            message=message,
        )

    async def login_code(request: Request) -> Response:
        """The second step: a TOTP code or a recovery code for the challenge of the first."""
        page = await site.page(request)
        form = await site.form(page)
        mfa_token = _text(form, "mfa_token")
        next_url = safe_next(_text(form, "next", 2000) or "/account")
        code = "".join(_text(form, "code", 64).split())
        use_recovery = not code.isdigit()
        try:
            answer = await page.call(
                auth(page).VerifyLoginTotp,
                auth_pb2.VerifyLoginTotpRequest(
                    mfa_token=mfa_token,
                    code="" if use_recovery else code[:16],
                    recovery_code=code if use_recovery else "",
                ),
            )
        except WebRefusal as refusal:
            if refusal.status != 429:
                raise
            return site.render(
                page,
                "store/account/login_code.html",
                status=429,
                mfa_token=mfa_token,
                next_url=next_url,
                message=refusal.message,
            )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if problem.status >= 500:
                raise
            message = login_message(page, problem)
            if problem.reason == "MFA_TOKEN_INVALID":
                return site.render(
                    page,
                    "store/account/login.html",
                    status=401,
                    email="",
                    next_url=next_url,
                    message=message,
                )
            return site.render(
                page,
                "store/account/login_code.html",
                status=429 if problem.status == 429 else 401,
                mfa_token=mfa_token,
                next_url=next_url,
                message=message,
            )
        return signed_in_answer(page, answer.tokens, next_url)

    async def logout(request: Request) -> Response:
        page = await site.page(request)
        form = await site.form(page)
        if page.signed_in:
            try:
                await page.call(
                    auth(page).Logout, auth_pb2.LogoutRequest(idempotency_key=_key(form))
                )
            except grpc.aio.AioRpcError as error:
                if problem_from_rpc_error(error).status >= 500:
                    raise
        page.set_cookies.extend(CLEARED_COOKIES)
        return site.redirect(page, "/")

    # --- the account ---

    async def overview(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        me, recent = await asyncio.gather(
            page.call(auth(page).GetMe, auth_pb2.GetMeRequest()),
            page.call(
                orders(page).ListOrders,
                orders_pb2.ListOrdersRequest(customer_id=page.user_id, page_size=3),
            ),
        )
        return site.render(
            page,
            "store/account/overview.html",
            me=me,
            orders=recent.orders,
            **order_helpers(page),
        )

    async def security(page: Page, **context: Any) -> Response:
        me, sessions = await asyncio.gather(
            page.call(auth(page).GetMe, auth_pb2.GetMeRequest()),
            page.call(auth(page).ListSessions, auth_pb2.ListSessionsRequest()),
        )
        context.setdefault("message", "")
        context.setdefault("notice", "")
        context.setdefault("enrolment", None)
        context.setdefault("recovery_codes", ())
        context.setdefault("status", 200)
        status = context.pop("status")
        return site.render(
            page,
            "store/account/security.html",
            status=status,
            me=me,
            sessions=sessions.sessions,
            moment=_moment,
            new_key=lambda: str(uuid.uuid4()),
            **context,
        )

    async def security_page(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        notices = {
            "revoked": page.t("The session was signed out."),
            "disabled": page.t("Two-factor authentication is off."),
        }
        return await security(page, notice=notices.get(request.query_params.get("done", ""), ""))

    def enrolment_view(secret: str, otpauth_uri: str) -> dict[str, str]:
        return {
            "secret": secret,
            "otpauth_uri": otpauth_uri,
            "qr": qr_data_url(otpauth_uri),
            "confirm_key": str(uuid.uuid4()),
        }

    async def totp_enrol(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        form = await site.form(page)
        answer = await page.call(
            auth(page).EnrollTotp, auth_pb2.EnrollTotpRequest(idempotency_key=_key(form))
        )
        return await security(page, enrolment=enrolment_view(answer.secret, answer.otpauth_uri))

    async def totp_confirm(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        form = await site.form(page)
        # The pending secret is shown once by EnrollTotp: after a wrong first code the page
        # shows again what this browser was shown (auth checks the code against its own copy).
        secret = _text(form, "secret", 128)
        otpauth_uri = _text(form, "otpauth_uri", 1024)
        code = "".join(_text(form, "code", 64).split())
        try:
            answer = await page.call(
                auth(page).ConfirmTotp,
                auth_pb2.ConfirmTotpRequest(idempotency_key=_key(form), code=code[:16]),
            )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if problem.status >= 500 or problem.status == 401:
                raise
            message = login_message(page, problem)
            shown = _BASE32.fullmatch(secret) and otpauth_uri.startswith(OTPAUTH_PREFIX)
            enrolment = enrolment_view(secret, otpauth_uri) if shown else None
            return await security(page, enrolment=enrolment, message=message, status=422)
        # The session now counts the second factor: its cookies carry the new tokens.
        page.set_cookies.extend(session_cookies(answer.tokens, site.csrf))
        return await security(
            page,
            recovery_codes=tuple(answer.recovery_codes.codes),
            notice=page.t("Two-factor authentication is on."),
        )

    async def totp_disable(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        form = await site.form(page)
        code = "".join(_text(form, "code", 64).split())
        recovery = not code.isdigit()
        try:
            await page.call(
                auth(page).DisableTotp,
                auth_pb2.DisableTotpRequest(
                    idempotency_key=_key(form),
                    code="" if recovery else code[:16],
                    recovery_code=code if recovery else "",
                ),
            )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if problem.status >= 500 or problem.status == 401:
                raise
            message = (
                user_message(page, problem)
                if problem.status == 409 and problem.reason != "MFA_CODE_INVALID"
                else login_message(page, problem)
            )
            return await security(page, message=message, status=422)
        return site.redirect(page, "/account/security?done=disabled")

    async def recovery_codes(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        form = await site.form(page)
        code = "".join(_text(form, "code", 64).split())
        try:
            answer = await page.call(
                auth(page).RegenerateRecoveryCodes,
                auth_pb2.RegenerateRecoveryCodesRequest(idempotency_key=_key(form), code=code[:16]),
            )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if problem.status >= 500 or problem.status == 401:
                raise
            return await security(page, message=login_message(page, problem), status=422)
        return await security(
            page,
            recovery_codes=tuple(answer.codes),
            notice=page.t("New recovery codes replace the old ones."),
        )

    async def session_revoke(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        form = await site.form(page)
        session_id = str(request.path_params["session_id"])[:64]
        await page.call(
            auth(page).RevokeSession,
            auth_pb2.RevokeSessionRequest(idempotency_key=_key(form), session_id=session_id),
        )
        if _text(form, "current") == "1":
            page.set_cookies.extend(CLEARED_COOKIES)
            return site.redirect(page, "/account/login")
        return site.redirect(page, "/account/security?done=revoked")

    async def sign_out_everywhere(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        form = await site.form(page)
        await page.call(
            auth(page).LogoutEverywhere,
            auth_pb2.LogoutEverywhereRequest(idempotency_key=_key(form)),
        )
        page.set_cookies.extend(CLEARED_COOKIES)
        return site.redirect(page, "/account/login")

    # --- orders and returns ---

    def order_helpers(page: Page) -> dict[str, Any]:
        return {
            "status_text": lambda status: page.t(STATUS_TEXT.get(status, "Unknown")),
            "status_tone": lambda status: STATUS_TONE.get(status, ""),
            "moment": _moment,
        }

    async def order_history(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        token = request.query_params.get("page", "")[:512]
        listed = await page.call(
            orders(page).ListOrders,
            orders_pb2.ListOrdersRequest(
                customer_id=page.user_id, page_size=ORDERS_PAGE_SIZE, page_token=token
            ),
        )
        tracked = [o.id for o in listed.orders if o.status in TRACKED]
        details = await asyncio.gather(
            *(
                page.call(orders(page).GetOrder, orders_pb2.GetOrderRequest(id=order_id))
                for order_id in tracked
            )
        )
        return site.render(
            page,
            "store/account/orders.html",
            orders=listed.orders,
            tracking={order.id: order for order in details},
            next_page=listed.next_page_token,
            returnable=RETURNABLE,
            **order_helpers(page),
        )

    async def order_return(request: Request) -> Response:
        page = await site.page(request)
        if not page.signed_in:
            return to_login(page)
        order_id = str(request.path_params["order_id"])
        try:
            uuid.UUID(order_id)
        except ValueError:
            return site.error_page(page, 404, page.t("Page not found"))
        errors: FormErrors = {}
        message = ""
        status = 200
        reason = ""
        key = str(uuid.uuid4())
        if request.method == "POST":
            form = await site.form(page)
            key, reason = _key(form), _text(form, "reason", 2000)
            order = await page.call(orders(page).GetOrder, orders_pb2.GetOrderRequest(id=order_id))
            lines = []
            for line in order.lines:
                raw = _text(form, f"qty-{line.variant_id}", 6) or "0"
                quantity = whole_number(raw, line.quantity)
                quantity = -1 if quantity is None else quantity
                if not 0 <= quantity <= line.quantity:
                    errors[f"qty-{line.variant_id}"] = page.t(
                        "Choose between 0 and %(n)s.", n=line.quantity
                    )
                elif quantity:
                    lines.append(
                        orders_pb2.ReturnLineRequest(variant_id=line.variant_id, quantity=quantity)
                    )
            if not lines and not errors:
                message = page.t("Choose at least one item to send back.")
            if not errors and not message:
                try:
                    await page.call(
                        orders(page).RequestReturn,
                        orders_pb2.RequestReturnRequest(
                            idempotency_key=key, id=order_id, lines=lines, reason=reason
                        ),
                    )
                    return site.redirect(page, f"/account/orders/{order_id}/return?done=1")
                except grpc.aio.AioRpcError as error:
                    problem = problem_from_rpc_error(error)
                    if problem.status >= 500 or problem.status in (401, 403, 404):
                        raise
                    message = user_message(page, problem)
            status = 422
        order, returns = await asyncio.gather(
            page.call(orders(page).GetOrder, orders_pb2.GetOrderRequest(id=order_id)),
            page.call(
                orders(page).ListOrderReturnRequests,
                orders_pb2.ListOrderReturnRequestsRequest(id=order_id),
            ),
        )
        return site.render(
            page,
            "store/account/return.html",
            status=status,
            order=order,
            returns=returns.return_requests,
            returnable=order.status in RETURNABLE,
            return_status_text=lambda s: page.t(RETURN_STATUS_TEXT.get(s, "Unknown")),
            decision_text=lambda item: _decision_text(page, item),
            errors=errors,
            message=message,
            reason=reason,
            done=request.query_params.get("done") == "1",
            idempotency_key=key,
            **order_helpers(page),
        )

    return [
        Route("/account", overview, methods=["GET"]),
        Route("/account/register", register, methods=["GET", "POST"]),
        Route("/account/registered", registered, methods=["GET"]),
        Route("/account/verify", verify, methods=["GET", "POST"]),
        Route("/account/login", login, methods=["GET", "POST"]),
        Route("/account/login/code", login_code, methods=["POST"]),
        Route("/account/password-reset", password_reset, methods=["GET", "POST"]),
        Route("/account/logout", logout, methods=["POST"]),
        Route("/account/security", security_page, methods=["GET"]),
        Route("/account/security/totp", totp_enrol, methods=["POST"]),
        Route("/account/security/totp/confirm", totp_confirm, methods=["POST"]),
        Route("/account/security/totp/disable", totp_disable, methods=["POST"]),
        Route("/account/security/recovery-codes", recovery_codes, methods=["POST"]),
        Route("/account/security/sessions/{session_id}/revoke", session_revoke, methods=["POST"]),
        Route("/account/security/sign-out-everywhere", sign_out_everywhere, methods=["POST"]),
        Route("/account/orders", order_history, methods=["GET"]),
        Route("/account/orders/{order_id}/return", order_return, methods=["GET", "POST"]),
    ]
