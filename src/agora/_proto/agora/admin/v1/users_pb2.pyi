import datetime

from agora._proto.agora.options.v1 import options_pb2 as _options_pb2
from agora._proto.agora.types.v1 import money_pb2 as _money_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USER_STATUS_UNSPECIFIED: _ClassVar[UserStatus]
    USER_STATUS_ACTIVE: _ClassVar[UserStatus]
    USER_STATUS_LOCKED: _ClassVar[UserStatus]

class TotpResetStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TOTP_RESET_STATUS_UNSPECIFIED: _ClassVar[TotpResetStatus]
    TOTP_RESET_STATUS_PENDING: _ClassVar[TotpResetStatus]
    TOTP_RESET_STATUS_APPLIED: _ClassVar[TotpResetStatus]
    TOTP_RESET_STATUS_EXPIRED: _ClassVar[TotpResetStatus]
USER_STATUS_UNSPECIFIED: UserStatus
USER_STATUS_ACTIVE: UserStatus
USER_STATUS_LOCKED: UserStatus
TOTP_RESET_STATUS_UNSPECIFIED: TotpResetStatus
TOTP_RESET_STATUS_PENDING: TotpResetStatus
TOTP_RESET_STATUS_APPLIED: TotpResetStatus
TOTP_RESET_STATUS_EXPIRED: TotpResetStatus

class ManagedUser(_message.Message):
    __slots__ = ("id", "email", "name", "email_verified", "roles", "totp_enabled", "status", "locked_at", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    TOTP_ENABLED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LOCKED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    email: str
    name: str
    email_verified: bool
    roles: _containers.RepeatedScalarFieldContainer[str]
    totp_enabled: bool
    status: UserStatus
    locked_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ..., email_verified: _Optional[bool] = ..., roles: _Optional[_Iterable[str]] = ..., totp_enabled: _Optional[bool] = ..., status: _Optional[_Union[UserStatus, str]] = ..., locked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UserSession(_message.Message):
    __slots__ = ("id", "user_agent", "client_ip", "created_at", "last_seen_at", "amr")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    AMR_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_agent: str
    client_ip: str
    created_at: _timestamp_pb2.Timestamp
    last_seen_at: _timestamp_pb2.Timestamp
    amr: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., user_agent: _Optional[str] = ..., client_ip: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., amr: _Optional[_Iterable[str]] = ...) -> None: ...

class CustomerOrder(_message.Message):
    __slots__ = ("id", "status", "total", "item_count", "placed_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    total: _money_pb2.Money
    item_count: int
    placed_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., item_count: _Optional[int] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "service", "action", "actor_subject", "actor_kind", "target_type", "target_id", "outcome", "client_ip", "user_agent", "before_json", "after_json", "detail", "occurred_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    BEFORE_JSON_FIELD_NUMBER: _ClassVar[int]
    AFTER_JSON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    service: str
    action: str
    actor_subject: str
    actor_kind: str
    target_type: str
    target_id: str
    outcome: str
    client_ip: str
    user_agent: str
    before_json: str
    after_json: str
    detail: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., service: _Optional[str] = ..., action: _Optional[str] = ..., actor_subject: _Optional[str] = ..., actor_kind: _Optional[str] = ..., target_type: _Optional[str] = ..., target_id: _Optional[str] = ..., outcome: _Optional[str] = ..., client_ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., before_json: _Optional[str] = ..., after_json: _Optional[str] = ..., detail: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SearchUsersRequest(_message.Message):
    __slots__ = ("query", "role", "status", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    role: str
    status: UserStatus
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., role: _Optional[str] = ..., status: _Optional[_Union[UserStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchUsersResponse(_message.Message):
    __slots__ = ("users", "next_page_token")
    USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[ManagedUser]
    next_page_token: str
    def __init__(self, users: _Optional[_Iterable[_Union[ManagedUser, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class UserView(_message.Message):
    __slots__ = ("user", "locked_reason", "sessions", "orders", "orders_next_page_token", "audit_trail", "audit_next_page_token", "unavailable")
    USER_FIELD_NUMBER: _ClassVar[int]
    LOCKED_REASON_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AUDIT_TRAIL_FIELD_NUMBER: _ClassVar[int]
    AUDIT_NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    user: ManagedUser
    locked_reason: str
    sessions: _containers.RepeatedCompositeFieldContainer[UserSession]
    orders: _containers.RepeatedCompositeFieldContainer[CustomerOrder]
    orders_next_page_token: str
    audit_trail: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    audit_next_page_token: str
    unavailable: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user: _Optional[_Union[ManagedUser, _Mapping]] = ..., locked_reason: _Optional[str] = ..., sessions: _Optional[_Iterable[_Union[UserSession, _Mapping]]] = ..., orders: _Optional[_Iterable[_Union[CustomerOrder, _Mapping]]] = ..., orders_next_page_token: _Optional[str] = ..., audit_trail: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., audit_next_page_token: _Optional[str] = ..., unavailable: _Optional[_Iterable[str]] = ...) -> None: ...

class AssignRoleRequest(_message.Message):
    __slots__ = ("idempotency_key", "user_id", "role")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    user_id: str
    role: str
    def __init__(self, idempotency_key: _Optional[str] = ..., user_id: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class RevokeRoleRequest(_message.Message):
    __slots__ = ("idempotency_key", "user_id", "role")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    user_id: str
    role: str
    def __init__(self, idempotency_key: _Optional[str] = ..., user_id: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class LockUserRequest(_message.Message):
    __slots__ = ("idempotency_key", "user_id", "reason")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    user_id: str
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., user_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnlockUserRequest(_message.Message):
    __slots__ = ("idempotency_key", "user_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    user_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ForceLogoutRequest(_message.Message):
    __slots__ = ("idempotency_key", "user_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    user_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class ForceLogoutResponse(_message.Message):
    __slots__ = ("revoked",)
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    revoked: int
    def __init__(self, revoked: _Optional[int] = ...) -> None: ...

class TotpReset(_message.Message):
    __slots__ = ("id", "user_id", "status", "reason", "requested_by", "approved_by", "requested_at", "expires_at", "applied_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    status: TotpResetStatus
    reason: str
    requested_by: str
    approved_by: str
    requested_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    applied_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., status: _Optional[_Union[TotpResetStatus, str]] = ..., reason: _Optional[str] = ..., requested_by: _Optional[str] = ..., approved_by: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RequestTotpResetRequest(_message.Message):
    __slots__ = ("idempotency_key", "user_id", "reason")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    user_id: str
    reason: str
    def __init__(self, idempotency_key: _Optional[str] = ..., user_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApproveTotpResetRequest(_message.Message):
    __slots__ = ("idempotency_key", "reset_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    RESET_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    reset_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., reset_id: _Optional[str] = ...) -> None: ...

class ListTotpResetsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTotpResetsResponse(_message.Message):
    __slots__ = ("resets", "next_page_token")
    RESETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    resets: _containers.RepeatedCompositeFieldContainer[TotpReset]
    next_page_token: str
    def __init__(self, resets: _Optional[_Iterable[_Union[TotpReset, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SearchAuditLogRequest(_message.Message):
    __slots__ = ("actor_subject", "action_prefix", "target_type", "target_id", "occurred_after", "occurred_before", "page_size", "page_token")
    ACTOR_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ACTION_PREFIX_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AFTER_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    actor_subject: str
    action_prefix: str
    target_type: str
    target_id: str
    occurred_after: _timestamp_pb2.Timestamp
    occurred_before: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, actor_subject: _Optional[str] = ..., action_prefix: _Optional[str] = ..., target_type: _Optional[str] = ..., target_id: _Optional[str] = ..., occurred_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchAuditLogResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
