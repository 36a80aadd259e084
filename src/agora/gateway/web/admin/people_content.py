"""Admin: customers and staff, content, the support queue.

Every page calls the services with the staff member's own token: auth, admin and support decide
what they may see and change, and their refusals are shown on the page (a form re-rendered with
the service's words). Changes carry the idempotency key the form was rendered with, so a retried
post is done once. The Markdown preview renders with `agora.platform.markdown`, the very function
the admin service stores content with (ContentService has no preview RPC). Staff answer a
support conversation through the `Chat` stream, the way the API's WebSocket does: one short
stream per action (take over, say, close); the customer's own stream gets what they say from the
support service (PostgreSQL NOTIFY across replicas).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from agora._proto.agora.admin.v1 import content_pb2 as cpb
from agora._proto.agora.admin.v1 import users_pb2 as upb
from agora._proto.agora.admin.v1.content_pb2_grpc import ContentServiceStub
from agora._proto.agora.admin.v1.users_pb2_grpc import UserAdminServiceStub
from agora._proto.agora.support.v1 import support_pb2 as spb
from agora._proto.agora.support.v1.support_pb2_grpc import SupportServiceStub
from agora.gateway.problem import problem_from_rpc_error
from agora.gateway.web.admin.listing import ListQuery, words_and_choice, words_and_choice_bar
from agora.gateway.web.site import Page, Site, user_message
from agora.platform.kernel.checks import whole_number
from agora.platform.markdown import render_markdown

ROLES = ("customer", "support", "staff", "admin")
STAFF_ROLES = ("admin", "staff", "support")
USER_STATUSES = {"active": upb.USER_STATUS_ACTIVE, "locked": upb.USER_STATUS_LOCKED}
# The admin URL's kind names and their enum values, in the order the list shows them.
KINDS: Mapping[str, int] = {
    "page": cpb.CONTENT_KIND_PAGE,
    "post": cpb.CONTENT_KIND_POST,
    "banner": cpb.CONTENT_KIND_BANNER,
    "menu": cpb.CONTENT_KIND_MENU,
}
KIND_NAMES = {value: name for name, value in KINDS.items()}
CONTENT_STATUSES: Mapping[str, int] = {
    "draft": cpb.CONTENT_STATUS_DRAFT,
    "scheduled": cpb.CONTENT_STATUS_SCHEDULED,
    "published": cpb.CONTENT_STATUS_PUBLISHED,
    "expired": cpb.CONTENT_STATUS_EXPIRED,
}
STATUS_NAMES = {value: name for name, value in CONTENT_STATUSES.items()}
MAX_VERSION = 2**63 - 1  # a content version (int64 in the API)
HANDOVER_NAMES = {
    spb.HANDOVER_STATE_ASSISTANT: "assistant",
    spb.HANDOVER_STATE_QUEUED: "queued",
    spb.HANDOVER_STATE_STAFF: "staff",
    spb.HANDOVER_STATE_CLOSED: "closed",
}
REASON_NAMES = {
    spb.HANDOVER_REASON_REQUESTED: "asked for a person",
    spb.HANDOVER_REASON_ANGRY: "upset customer",
    spb.HANDOVER_REASON_LOW_CONFIDENCE: "assistant unsure",
    spb.HANDOVER_REASON_AMOUNT_LIMIT: "amount over the limit",
    spb.HANDOVER_REASON_MODEL_UNAVAILABLE: "assistant unavailable",
    spb.HANDOVER_REASON_TAKEN_OVER: "taken over",
}
SPEAKER_NAMES = {
    spb.SPEAKER_CUSTOMER: "Customer",
    spb.SPEAKER_ASSISTANT: "Assistant",
    spb.SPEAKER_STAFF: "Staff",
}
# What each user action's confirmation asks, and what the page says once it is done.
USER_ACTIONS: Mapping[str, tuple[str, str]] = {
    "lock": ("Lock this account? They cannot sign in and every session ends.", "Account locked."),
    "unlock": ("Unlock this account? They can sign in again.", "Account unlocked."),
    "logout": ("End every session of this account now?", "Every session was ended."),
    "assign-role": ("Give this account the role below?", "Role assigned."),
    "revoke-role": ("Take this role away from the account?", "Role revoked."),
    "totp-reset": (
        "Ask to remove this account's 2FA? Another staff member must approve it unless you "
        "are an administrator.",
        "2FA reset requested.",
    ),
    "approve-reset": ("Approve this 2FA reset? The account's 2FA is removed.", "2FA reset done."),
}
CONTENT_DONE = {
    "created": "Draft created.",
    "saved": "Draft saved as a new version.",
    "published": "Published.",
    "scheduled": "Scheduled.",
    "unpublished": "Taken off the storefront.",
    "rolled-back": "Rolled back: the old version is now the draft. Publish it to show it.",
}
MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CHAT_TIMEOUT_S = 15.0
MAX_PAGE_SIZE = 100
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def routes(site: Site) -> list[BaseRoute]:
    users = _Users(site)
    content = _Content(site)
    support = _Support(site)
    return [
        Route("/admin/customers", users.customers, methods=["GET"]),
        Route("/admin/staff", users.staff, methods=["GET"]),
        Route("/admin/users/{user_id}", users.user, methods=["GET"]),
        Route("/admin/users/{user_id}/{action}", users.act, methods=["POST"]),
        Route("/admin/content", content.listing, methods=["GET"]),
        Route("/admin/content/new", content.new, methods=["GET", "POST"]),
        Route("/admin/content/preview", content.preview, methods=["POST"]),
        Route("/admin/content/media", content.media, methods=["POST"]),
        Route("/admin/content/{entry_id}", content.edit, methods=["GET", "POST"]),
        Route("/admin/content/{entry_id}/{action}", content.act, methods=["POST"]),
        Route("/admin/support", support.queue, methods=["GET"]),
        Route("/admin/support/{conversation_id}", support.conversation, methods=["GET"]),
        Route("/admin/support/{conversation_id}/transcript", support.transcript, methods=["GET"]),
        Route("/admin/support/{conversation_id}/{action}", support.act, methods=["POST"]),
    ]


# --- shared -------------------------------------------------------------------------------


def _key() -> str:
    return str(uuid.uuid4())


def _text(form: FormData | Mapping[str, Any], name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _when(stamp: Timestamp) -> datetime | None:
    """A set timestamp as an aware datetime; None when unset."""
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return stamp.ToDatetime(tzinfo=UTC)


def _is_uuid(value: str) -> bool:
    return bool(_UUID.fullmatch(value))


async def _emails(page: Page, stub: UserAdminServiceStub, user_ids: set[str]) -> dict[str, str]:
    """The emails of `user_ids` the caller may see (the others are left out)."""
    ids = sorted(i for i in user_ids if _is_uuid(i))
    views = await asyncio.gather(
        *(page.call(stub.GetUser, upb.GetUserRequest(user_id=i)) for i in ids),
        return_exceptions=True,
    )
    return {i: v.user.email for i, v in zip(ids, views, strict=True) if isinstance(v, upb.UserView)}


def _refusal(page: Page, error: grpc.aio.AioRpcError) -> tuple[int, str, dict[str, str]]:
    """What the page shows of a refused call: its status, the service's words and the
    fields it names. Sign-in problems and outages are left to the error pages."""
    problem = problem_from_rpc_error(error)
    if problem.status == 401 or problem.status >= 500:
        raise error
    fields = {v.field: v.description for v in problem.errors}
    status = problem.status if problem.status in (400, 403, 404, 409, 413, 422, 429) else 400
    message = user_message(page, problem) if status == 404 else problem.detail
    return status, message or problem.title, fields


async def _staff_page(site: Site, request: Request) -> Page | Response:
    """The page of a signed-in caller; a guest goes to the admin sign-in first."""
    page = await site.page(request)
    if not page.signed_in:
        query = request.url.query
        here = request.url.path + (f"?{query}" if query else "")
        return site.redirect(page, f"/admin/login?next={quote(here)}")
    return page


# --- customers and staff --------------------------------------------------------------------


class _Users:
    def __init__(self, site: Site) -> None:
        self.site = site

    async def customers(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        query = ListQuery.read(
            request, words_and_choice(request, "status", USER_STATUSES), token_param="after"
        )
        stub = page.stub(UserAdminServiceStub, "admin")
        found = await page.call(
            stub.SearchUsers,
            upb.SearchUsersRequest(
                query=query.filters["q"],
                role="customer",
                status=USER_STATUSES.get(query.filters["status"], upb.USER_STATUS_UNSPECIFIED),
                page_size=query.size,
                page_token=query.token,
            ),
        )
        return self.site.render(
            page,
            "admin/customers.html",
            users=list(found.users),
            pages=query.pager(found.next_page_token),
            fields=words_and_choice_bar(
                query.filters,
                ("Email or name", ""),
                "status",
                "Status",
                [("", "Any"), ("active", "Active"), ("locked", "Locked")],
            ),
            when=_when,
        )

    async def staff(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        query = ListQuery.read(request, words_and_choice(request, "role", STAFF_ROLES))
        # The resets' pager keeps the accounts' page; the accounts' pager starts the resets over.
        resets_query = ListQuery.read(
            request,
            {**query.filters, "page_token": query.token},
            token_param="resets",
            trail_param="resets_back",
        )
        roles = (query.filters["role"],) if query.filters["role"] else STAFF_ROLES
        stub = page.stub(UserAdminServiceStub, "admin")
        error = ""
        try:
            people, resets = await asyncio.gather(
                _staff_page_of(page, stub, query, roles),
                page.call(
                    stub.ListTotpResets,
                    upb.ListTotpResetsRequest(
                        page_size=resets_query.size, page_token=resets_query.token
                    ),
                ),
            )
        except (grpc.aio.AioRpcError, _StalePage) as failure:
            if isinstance(failure, grpc.aio.AioRpcError):
                error = _refusal(page, failure)[1]
            else:
                error = "This page of the list is out of date: start again from the first page."
            people, resets = ([], ""), upb.ListTotpResetsResponse()
        users, next_token = people
        names = {u.id: u.email for u in users}
        # A reset may concern or be asked by an account this page does not list (another page,
        # a custom role): the approver must still see who is who.
        unlisted = {i for r in resets.resets for i in (r.user_id, r.requested_by)} - names.keys()
        names |= await _emails(page, stub, unlisted)
        return self.site.render(
            page,
            "admin/staff.html",
            status=400 if error else 200,
            users=users,
            pages=query.pager(next_token),
            fields=words_and_choice_bar(
                query.filters,
                ("Email or name", ""),
                "role",
                "Role",
                [("", "Any staff role"), *((r, r) for r in STAFF_ROLES)],
            ),
            error=error,
            resets=list(resets.resets),
            resets_pages=resets_query.pager(resets.next_page_token),
            names=names,
            when=_when,
        )

    async def user(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        confirm = request.query_params.get("confirm", "")
        done = request.query_params.get("done", "")
        return await self._render(
            page,
            request.path_params["user_id"],
            confirm=confirm if confirm in USER_ACTIONS else "",
            role=request.query_params.get("role", "")[:40],
            reset_id=request.query_params.get("reset", "")[:40],
            done=USER_ACTIONS[done][1] if done in USER_ACTIONS else "",
        )

    async def _render(
        self,
        page: Page,
        user_id: str,
        *,
        confirm: str = "",
        role: str = "",
        reset_id: str = "",
        done: str = "",
        error: str = "",
        status: int = 200,
    ) -> Response:
        if not _is_uuid(user_id):
            return self.site.error_page(page, 404, "Page not found")
        stub = page.stub(UserAdminServiceStub, "admin")
        view, resets = await asyncio.gather(
            page.call(stub.GetUser, upb.GetUserRequest(user_id=user_id)),
            page.call(stub.ListTotpResets, upb.ListTotpResetsRequest(page_size=100)),
        )
        assignable = [r for r in ROLES if r not in view.user.roles]
        return self.site.render(
            page,
            "admin/user.html",
            status=status,
            view=view,
            account=view.user,
            resets=[r for r in resets.resets if r.user_id == user_id],
            confirm=confirm,
            confirm_text=USER_ACTIONS[confirm][0] if confirm else "",
            role=role,
            reset_id=reset_id,
            assignable=assignable,
            done=done,
            error=error,
            key=_key(),
            when=_when,
        )

    async def act(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        user_id, action = request.path_params["user_id"], request.path_params["action"]
        if action not in USER_ACTIONS or not _is_uuid(user_id):
            return self.site.error_page(page, 404, "Page not found")
        form = await self.site.form(page)
        key = _text(form, "key", 128)
        role = _text(form, "role", 40)
        reason = _text(form, "reason", 500)
        stub = page.stub(UserAdminServiceStub, "admin")
        try:
            match action:
                case "lock":
                    await page.call(
                        stub.LockUser,
                        upb.LockUserRequest(idempotency_key=key, user_id=user_id, reason=reason),
                    )
                case "unlock":
                    await page.call(
                        stub.UnlockUser,
                        upb.UnlockUserRequest(idempotency_key=key, user_id=user_id),
                    )
                case "logout":
                    await page.call(
                        stub.ForceLogout,
                        upb.ForceLogoutRequest(idempotency_key=key, user_id=user_id),
                    )
                case "assign-role":
                    await page.call(
                        stub.AssignRole,
                        upb.AssignRoleRequest(idempotency_key=key, user_id=user_id, role=role),
                    )
                case "revoke-role":
                    await page.call(
                        stub.RevokeRole,
                        upb.RevokeRoleRequest(idempotency_key=key, user_id=user_id, role=role),
                    )
                case "totp-reset":
                    reset = await page.call(
                        stub.RequestTotpReset,
                        upb.RequestTotpResetRequest(
                            idempotency_key=key, user_id=user_id, reason=reason
                        ),
                    )
                    if reset.status == upb.TOTP_RESET_STATUS_APPLIED:
                        action = "approve-reset"  # an administrator's reset is done at once
                case "approve-reset":
                    await page.call(
                        stub.ApproveTotpReset,
                        upb.ApproveTotpResetRequest(
                            idempotency_key=key, reset_id=_text(form, "reset_id", 40)
                        ),
                    )
        except grpc.aio.AioRpcError as failure:
            status, message, fields = _refusal(page, failure)
            detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
            return await self._render(
                page,
                user_id,
                confirm=action,
                role=role,
                reset_id=_text(form, "reset_id", 40),
                error=f"{message} {detail}".strip(),
                status=status,
            )
        return self.site.redirect(page, f"/admin/users/{user_id}?done={action}")


class _StalePage(ValueError):
    """A staff list page token the gateway did not write."""


async def _staff_page_of(
    page: Page, stub: UserAdminServiceStub, query: ListQuery, roles: tuple[str, ...]
) -> tuple[list[upb.ManagedUser], str]:
    """A page of the holders of `roles`, role by role in that order (an account with several
    shows under the first), and the next page's token: `<role index>:<the role's token>`."""
    at, _, token = query.token.partition(":") if query.token else ("0", "", "")
    index = whole_number(at, len(roles) - 1)
    if index is None:
        raise _StalePage(query.token)

    async def holders(size: int) -> list[upb.ManagedUser]:
        """The next `size` holders of roles[index] (fewer once they are all read), moving
        `index` and `token` past them; those shown under an earlier role left out."""
        nonlocal index, token
        found = await page.call(
            stub.SearchUsers,
            upb.SearchUsersRequest(
                query=query.filters["q"], role=roles[index], page_size=size, page_token=token
            ),
        )
        earlier = set(roles[:index])
        token = found.next_page_token
        if not token:
            index += 1
        return [u for u in found.users if not earlier.intersection(u.roles)]

    people: list[upb.ManagedUser] = []
    while index < len(roles) and len(people) < query.size:
        people += await holders(query.size - len(people))
    if index == len(roles) or token:
        return people, f"{index}:{token}" if token else ""
    # No link to an empty page: the later roles may hold no one who was not shown already.
    onward = f"{index}:"
    while index < len(roles):
        if await holders(MAX_PAGE_SIZE):
            return people, onward
    return people, ""


# --- content ---------------------------------------------------------------------------------


def _fields_from(form: FormData, kind: int) -> cpb.ContentFields:
    fields = cpb.ContentFields(
        slug=_text(form, "slug", 120),
        title=_text(form, "title", 200),
        body_markdown=(form.get("body_markdown") or "")[:100_000]  # type: ignore[index]
        if isinstance(form.get("body_markdown"), str)
        else "",
    )
    if kind in (cpb.CONTENT_KIND_BANNER, cpb.CONTENT_KIND_POST):
        fields.image_sha256 = _text(form, "image_sha256", 64).lower()
    if kind == cpb.CONTENT_KIND_BANNER:
        fields.placement = _text(form, "placement", 60)
        fields.link_url = _text(form, "link_url", 2000)
    if kind == cpb.CONTENT_KIND_MENU:
        for line in _text(form, "menu_items", 20_000).splitlines():
            label, _, url = line.partition("|")
            if label.strip() or url.strip():
                fields.menu_items.append(cpb.MenuItem(label=label.strip(), url=url.strip()))
    return fields


def _menu_text(fields: cpb.ContentFields) -> str:
    return "\n".join(f"{item.label} | {item.url}" for item in fields.menu_items)


def _timestamp(value: str, name: str) -> Timestamp | None:
    """A `datetime-local` value read as UTC; None when empty."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{name}: not a date and time") from None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _local(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment is not None else ""


class _Content:
    def __init__(self, site: Site) -> None:
        self.site = site

    async def listing(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        kind = request.query_params.get("kind", "")
        status = request.query_params.get("status", "")
        locale = request.query_params.get("locale", "")
        locale = locale if locale in self.site.locales else ""
        after = request.query_params.get("after", "")[:512]
        stub = page.stub(ContentServiceStub, "admin")
        found = await page.call(
            stub.ListContent,
            cpb.ListContentRequest(
                kind=KINDS.get(kind, cpb.CONTENT_KIND_UNSPECIFIED),  # type: ignore[arg-type]
                locale=locale,
                page_size=100,
                page_token=after,
            ),
        )
        wanted = CONTENT_STATUSES.get(status)
        entries = [e for e in found.entries if wanted is None or e.status == wanted]
        return self.site.render(
            page,
            "admin/content.html",
            entries=entries,
            next_token=found.next_page_token,
            kind=kind if kind in KINDS else "",
            status_filter=status if status in CONTENT_STATUSES else "",
            locale=locale,
            kinds=KINDS,
            kind_names=KIND_NAMES,
            statuses=CONTENT_STATUSES,
            status_names=STATUS_NAMES,
            when=_when,
        )

    def _editor(
        self,
        page: Page,
        *,
        entry: cpb.ContentEntry | None,
        kind: int,
        locale: str,
        fields: cpb.ContentFields,
        versions: list[cpb.ContentVersion] | None = None,
        diff: cpb.ContentDiff | None = None,
        done: str = "",
        error: str = "",
        field_errors: Mapping[str, str] | None = None,
        status: int = 200,
        publish_at: str = "",
        unpublish_at: str = "",
    ) -> HTMLResponse:
        return self.site.render(
            page,
            "admin/content_edit.html",
            status=status,
            entry=entry,
            kind=KIND_NAMES.get(kind, "page"),
            locale=locale,
            fields=fields,
            menu_text=_menu_text(fields),
            preview=render_markdown(fields.body_markdown),
            versions=versions or [],
            diff=diff,
            done=done,
            error=error,
            field_errors=field_errors or {},
            status_names=STATUS_NAMES,
            key=_key(),
            publish_at=publish_at or (_local(_when(entry.publish_at)) if entry is not None else ""),
            unpublish_at=unpublish_at
            or (_local(_when(entry.unpublish_at)) if entry is not None else ""),
            when=_when,
        )

    async def new(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        if request.method == "GET":
            kind = KINDS.get(request.query_params.get("kind", ""), cpb.CONTENT_KIND_PAGE)
            fields = cpb.ContentFields(
                placement="home-hero" if kind == cpb.CONTENT_KIND_BANNER else ""
            )
            return self._editor(
                page, entry=None, kind=kind, locale=self.site.locales[0], fields=fields
            )
        form = await self.site.form(page)
        kind = KINDS.get(_text(form, "kind"), cpb.CONTENT_KIND_PAGE)
        locale = _text(form, "locale", 35)
        fields = _fields_from(form, kind)
        stub = page.stub(ContentServiceStub, "admin")
        try:
            entry = await page.call(
                stub.CreateContent,
                cpb.CreateContentRequest(
                    idempotency_key=_text(form, "key", 128),
                    kind=kind,  # type: ignore[arg-type]
                    locale=locale,
                    fields=fields,
                ),
            )
        except grpc.aio.AioRpcError as failure:
            status, message, errors = _refusal(page, failure)
            return self._editor(
                page,
                entry=None,
                kind=kind,
                locale=locale,
                fields=fields,
                error=message,
                field_errors=errors,
                status=status,
            )
        return self.site.redirect(page, f"/admin/content/{entry.id}?done=created")

    async def _entry(
        self, page: Page, entry_id: str, diff: tuple[int, int] | None = None
    ) -> tuple[cpb.ContentEntry, list[cpb.ContentVersion], cpb.ContentDiff | None]:
        stub = page.stub(ContentServiceStub, "admin")
        entry, versions = await asyncio.gather(
            page.call(stub.GetContent, cpb.GetContentRequest(id=entry_id)),
            page.call(stub.ListContentVersions, cpb.ListContentVersionsRequest(id=entry_id)),
        )
        shown = None
        if diff is not None:
            shown = await page.call(
                stub.DiffContentVersions,
                cpb.DiffContentVersionsRequest(
                    id=entry_id, from_version=diff[0], to_version=diff[1]
                ),
            )
        return entry, list(versions.versions), shown

    async def edit(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        entry_id = request.path_params["entry_id"]
        if not _is_uuid(entry_id):
            return self.site.error_page(page, 404, "Page not found")
        if request.method == "GET":
            versions_asked = (
                whole_number(request.query_params.get("from", ""), MAX_VERSION),
                whole_number(request.query_params.get("to", ""), MAX_VERSION),
            )
            diff = None
            if versions_asked[0] and versions_asked[1]:  # both given, from 1
                diff = (versions_asked[0], versions_asked[1])
            entry, versions, shown = await self._entry(page, entry_id, diff)
            done = request.query_params.get("done", "")
            return self._editor(
                page,
                entry=entry,
                kind=entry.kind,
                locale=entry.locale,
                fields=entry.fields,
                versions=versions,
                diff=shown,
                done=CONTENT_DONE.get(done, ""),
            )
        form = await self.site.form(page)
        entry, versions, _ = await self._entry(page, entry_id)
        fields = _fields_from(form, entry.kind)
        stub = page.stub(ContentServiceStub, "admin")
        try:
            await page.call(
                stub.UpdateContent,
                cpb.UpdateContentRequest(
                    idempotency_key=_text(form, "key", 128),
                    id=entry_id,
                    expected_version=_int(form, "expected_version"),
                    fields=fields,
                ),
            )
        except grpc.aio.AioRpcError as failure:
            status, message, errors = _refusal(page, failure)
            return self._editor(
                page,
                entry=entry,
                kind=entry.kind,
                locale=entry.locale,
                fields=fields,
                versions=versions,
                error=message,
                field_errors=errors,
                status=status,
            )
        return self.site.redirect(page, f"/admin/content/{entry_id}?done=saved")

    async def act(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        entry_id, action = request.path_params["entry_id"], request.path_params["action"]
        if action not in ("publish", "unpublish", "rollback") or not _is_uuid(entry_id):
            return self.site.error_page(page, 404, "Page not found")
        form = await self.site.form(page)
        key = _text(form, "key", 128)
        expected = _int(form, "expected_version")
        stub = page.stub(ContentServiceStub, "admin")
        publish_at = _text(form, "publish_at", 40)
        unpublish_at = _text(form, "unpublish_at", 40)
        done = action
        try:
            match action:
                case "publish":
                    request_pb = cpb.PublishContentRequest(
                        idempotency_key=key, id=entry_id, expected_version=expected
                    )
                    start = _timestamp(publish_at, "Publish at")
                    end = _timestamp(unpublish_at, "Unpublish at")
                    if start is not None:
                        request_pb.publish_at.CopyFrom(start)
                    if end is not None:
                        request_pb.unpublish_at.CopyFrom(end)
                    published = await page.call(stub.PublishContent, request_pb)
                    done = (
                        "scheduled"
                        if published.status == cpb.CONTENT_STATUS_SCHEDULED
                        else "published"
                    )
                case "unpublish":
                    await page.call(
                        stub.UnpublishContent,
                        cpb.UnpublishContentRequest(
                            idempotency_key=key, id=entry_id, expected_version=expected
                        ),
                    )
                    done = "unpublished"
                case "rollback":
                    await page.call(
                        stub.RollbackContent,
                        cpb.RollbackContentRequest(
                            idempotency_key=key,
                            id=entry_id,
                            expected_version=expected,
                            to_version=_int(form, "to_version"),
                        ),
                    )
                    done = "rolled-back"
        except (grpc.aio.AioRpcError, ValueError) as failure:
            errors: dict[str, str] = {}
            if isinstance(failure, ValueError):
                status, message = 400, str(failure)
            else:
                status, message, errors = _refusal(page, failure)
            entry, versions, _ = await self._entry(page, entry_id)
            return self._editor(
                page,
                entry=entry,
                kind=entry.kind,
                locale=entry.locale,
                fields=entry.fields,
                versions=versions,
                error=message,
                field_errors=errors,
                status=status,
                publish_at=publish_at,
                unpublish_at=unpublish_at,
            )
        return self.site.redirect(page, f"/admin/content/{entry_id}?done={done}")

    async def preview(self, request: Request) -> Response:
        """The draft's Markdown as the storefront will show it (htmx swaps it in)."""
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        if not page.can("admin:content:read"):
            return self.site.error_page(page, 403, "You may not see this page.")
        form = await self.site.form(page)
        markdown = form.get("body_markdown")
        html = render_markdown(markdown[:100_000] if isinstance(markdown, str) else "")
        return self.site.render(page, "admin/_content_preview.html", preview=html)

    async def media(self, request: Request) -> Response:
        """An uploaded image: stored by the admin service; answers its variants (htmx)."""
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        form = await self.site.form(page)
        upload = form.get("file")
        error = ""
        media = None
        if not isinstance(upload, UploadFile) or not upload.filename:
            error = "Choose an image file to upload."
        else:
            content_type = (upload.content_type or "").split(";")[0].strip().lower()
            data = await upload.read(MAX_UPLOAD_BYTES + 1)
            if content_type not in MEDIA_TYPES:
                error = "Upload a PNG, JPEG, GIF or WebP image."
            elif len(data) > MAX_UPLOAD_BYTES:
                error = "The image is too large (at most 10 MB)."
            else:
                stub = page.stub(ContentServiceStub, "admin")
                try:
                    media = await page.call(
                        stub.UploadMedia,
                        cpb.UploadMediaRequest(
                            # The form's key names this post; the bytes tell one file from
                            # another chosen in the same form.
                            idempotency_key=f"{_text(form, 'key', 64)}:"
                            f"{hashlib.sha256(data).hexdigest()[:16]}",
                            filename=upload.filename[:255],
                            content_type=content_type,
                            data=data,
                        ),
                    )
                except grpc.aio.AioRpcError as failure:
                    _, error, _ = _refusal(page, failure)
        partial = bool(request.headers.get("hx-request"))
        # htmx swaps only a 2xx answer: the partial carries its refusal as an alert.
        status = 200 if media is not None or partial else 400
        template = "admin/_content_media.html" if partial else "admin/content_media.html"
        thumbnail = full = ""
        if media is not None:
            urls = {v.name: v.url for v in media.variants}
            thumbnail = urls.get("w320") or urls.get("original", "")
            full = urls.get("w960") or urls.get("original", "")
        return self.site.render(
            page,
            template,
            status=status,
            media=media,
            thumbnail=thumbnail,
            full=full,
            alt=_text(form, "alt", 200) or "Image",
            error=error,
            key=_key(),
        )


def _int(form: FormData, name: str) -> int:
    """A version sent by the page's form (0: none, or not a version)."""
    return whole_number(_text(form, name, 20), MAX_VERSION) or 0


# --- the support queue --------------------------------------------------------------------------


class _Support:
    def __init__(self, site: Site) -> None:
        self.site = site

    async def queue(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        stub = page.stub(SupportServiceStub, "support")
        queued, taken, recent = await asyncio.gather(
            page.call(
                stub.ListConversations,
                spb.ListConversationsRequest(handover=spb.HANDOVER_STATE_QUEUED, page_size=100),
            ),
            page.call(
                stub.ListConversations,
                spb.ListConversationsRequest(handover=spb.HANDOVER_STATE_STAFF, page_size=100),
            ),
            page.call(stub.ListConversations, spb.ListConversationsRequest(page_size=50)),
        )
        first = [*queued.conversations, *taken.conversations]
        seen = {c.id for c in first}
        rest = [c for c in recent.conversations if c.id not in seen]
        return self.site.render(
            page,
            "admin/support.html",
            escalated=first,
            recent=rest,
            handover_names=HANDOVER_NAMES,
            reason_names=REASON_NAMES,
            when=_when,
        )

    async def _conversation(self, page: Page, conversation_id: str) -> spb.Conversation:
        stub = page.stub(SupportServiceStub, "support")
        return await page.call(stub.GetConversation, spb.GetConversationRequest(id=conversation_id))

    def _render(
        self,
        page: Page,
        conversation: spb.Conversation,
        *,
        error: str = "",
        done: str = "",
        status: int = 200,
        reply: str = "",
    ) -> HTMLResponse:
        summary = conversation.summary
        return self.site.render(
            page,
            "admin/conversation.html",
            status=status,
            conversation=conversation,
            summary=summary,
            state=HANDOVER_NAMES.get(summary.handover, "assistant"),
            mine=summary.handover == spb.HANDOVER_STATE_STAFF and summary.staff_id == page.user_id,
            speakers=SPEAKER_NAMES,
            handover_names=HANDOVER_NAMES,
            reason_names=REASON_NAMES,
            error=error,
            done=done,
            reply=reply,
            key=_key(),
            when=_when,
        )

    async def conversation(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        conversation_id = request.path_params["conversation_id"]
        if not _is_uuid(conversation_id):
            return self.site.error_page(page, 404, "Page not found")
        conversation = await self._conversation(page, conversation_id)
        done = {"take-over": "You took this conversation over: the assistant is silent now.",
                "reply": "Sent.", "close": "Conversation closed."}  # fmt: skip
        return self._render(
            page, conversation, done=done.get(request.query_params.get("done", ""), "")
        )

    async def transcript(self, request: Request) -> Response:
        """The messages so far (the conversation page polls it)."""
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        conversation_id = request.path_params["conversation_id"]
        if not _is_uuid(conversation_id):
            return self.site.error_page(page, 404, "Page not found")
        conversation = await self._conversation(page, conversation_id)
        return self.site.render(
            page,
            "admin/_people_transcript.html",
            conversation=conversation,
            speakers=SPEAKER_NAMES,
            handover_names=HANDOVER_NAMES,
            when=_when,
        )

    async def act(self, request: Request) -> Response:
        page = await _staff_page(self.site, request)
        if isinstance(page, Response):
            return page
        conversation_id, action = (
            request.path_params["conversation_id"],
            request.path_params["action"],
        )
        if action not in ("take-over", "reply", "close") or not _is_uuid(conversation_id):
            return self.site.error_page(page, 404, "Page not found")
        form = await self.site.form(page)
        text = _text(form, "text", 4000)
        try:
            if action == "reply" and not text:
                raise _ChatRefused("Write a reply first.")
            await self._chat(page, conversation_id, action, text, _text(form, "key", 64))
        except (_ChatRefused, grpc.aio.AioRpcError) as failure:
            if isinstance(failure, _ChatRefused):
                status, message = 409, failure.message
            else:
                status, message, _ = _refusal(page, failure)
            conversation = await self._conversation(page, conversation_id)
            return self._render(page, conversation, error=message, status=status, reply=text)
        return self.site.redirect(page, f"/admin/support/{conversation_id}?done={action}")

    async def _chat(
        self, page: Page, conversation_id: str, action: str, text: str, key: str
    ) -> None:
        """One short `Chat` stream as the staff member: take the conversation over (the same
        person again changes nothing), then say `text` or close it, and wait for the service to
        confirm (the stored message, the CLOSED frame)."""
        stub = page.stub(SupportServiceStub, "support")
        call = stub.Chat(metadata=page.metadata, timeout=CHAT_TIMEOUT_S)
        try:
            await call.write(
                spb.ChatClientMessage(
                    start=spb.ChatStart(conversation_id=conversation_id, take_over=True)
                )
            )
            started = await call.read()
            if started is grpc.aio.EOF or not started.HasField("started"):
                raise _ChatRefused("The conversation could not be opened.")
            if action == "reply":
                if any(m.client_message_id == key for m in started.started.history):
                    return  # a retried post: it was said already
                await call.write(
                    spb.ChatClientMessage(
                        say=spb.ChatSay(client_message_id=key or _key(), text=text)
                    )
                )
            elif action == "close":
                await call.write(spb.ChatClientMessage(close=spb.ChatClose()))
            else:
                return
            while True:
                frame = await call.read()
                if frame is grpc.aio.EOF:
                    raise _ChatRefused("The support service did not confirm it; try again.")
                kind = frame.WhichOneof("kind")
                if kind == "notice":
                    raise _ChatRefused(frame.notice.text or frame.notice.code)
                if (
                    action == "reply"
                    and kind == "message"
                    and (
                        frame.message.speaker == spb.SPEAKER_STAFF
                        and (frame.message.client_message_id == key or not key)
                    )
                ):
                    return
                if (
                    action == "close"
                    and kind == "handover"
                    and (frame.handover.state == spb.HANDOVER_STATE_CLOSED)
                ):
                    return
        finally:
            call.cancel()


class _ChatRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
