import datetime

from agora._proto.agora.options.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecommendationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECOMMENDATION_KIND_UNSPECIFIED: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_ALSO_BOUGHT: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_SIMILAR: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_FOR_YOU: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_POPULAR: _ClassVar[RecommendationKind]

class HandoverState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDOVER_STATE_UNSPECIFIED: _ClassVar[HandoverState]
    HANDOVER_STATE_ASSISTANT: _ClassVar[HandoverState]
    HANDOVER_STATE_QUEUED: _ClassVar[HandoverState]
    HANDOVER_STATE_STAFF: _ClassVar[HandoverState]
    HANDOVER_STATE_CLOSED: _ClassVar[HandoverState]

class HandoverReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDOVER_REASON_UNSPECIFIED: _ClassVar[HandoverReason]
    HANDOVER_REASON_REQUESTED: _ClassVar[HandoverReason]
    HANDOVER_REASON_ANGRY: _ClassVar[HandoverReason]
    HANDOVER_REASON_LOW_CONFIDENCE: _ClassVar[HandoverReason]
    HANDOVER_REASON_AMOUNT_LIMIT: _ClassVar[HandoverReason]
    HANDOVER_REASON_MODEL_UNAVAILABLE: _ClassVar[HandoverReason]
    HANDOVER_REASON_TAKEN_OVER: _ClassVar[HandoverReason]

class Speaker(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPEAKER_UNSPECIFIED: _ClassVar[Speaker]
    SPEAKER_CUSTOMER: _ClassVar[Speaker]
    SPEAKER_ASSISTANT: _ClassVar[Speaker]
    SPEAKER_STAFF: _ClassVar[Speaker]
RECOMMENDATION_KIND_UNSPECIFIED: RecommendationKind
RECOMMENDATION_KIND_ALSO_BOUGHT: RecommendationKind
RECOMMENDATION_KIND_SIMILAR: RecommendationKind
RECOMMENDATION_KIND_FOR_YOU: RecommendationKind
RECOMMENDATION_KIND_POPULAR: RecommendationKind
HANDOVER_STATE_UNSPECIFIED: HandoverState
HANDOVER_STATE_ASSISTANT: HandoverState
HANDOVER_STATE_QUEUED: HandoverState
HANDOVER_STATE_STAFF: HandoverState
HANDOVER_STATE_CLOSED: HandoverState
HANDOVER_REASON_UNSPECIFIED: HandoverReason
HANDOVER_REASON_REQUESTED: HandoverReason
HANDOVER_REASON_ANGRY: HandoverReason
HANDOVER_REASON_LOW_CONFIDENCE: HandoverReason
HANDOVER_REASON_AMOUNT_LIMIT: HandoverReason
HANDOVER_REASON_MODEL_UNAVAILABLE: HandoverReason
HANDOVER_REASON_TAKEN_OVER: HandoverReason
SPEAKER_UNSPECIFIED: Speaker
SPEAKER_CUSTOMER: Speaker
SPEAKER_ASSISTANT: Speaker
SPEAKER_STAFF: Speaker

class GetRecommendationsRequest(_message.Message):
    __slots__ = ("kind", "product_id", "limit")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    kind: RecommendationKind
    product_id: str
    limit: int
    def __init__(self, kind: _Optional[_Union[RecommendationKind, str]] = ..., product_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class GetMyRecommendationsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("product_id", "score", "source")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    score: float
    source: RecommendationKind
    def __init__(self, product_id: _Optional[str] = ..., score: _Optional[float] = ..., source: _Optional[_Union[RecommendationKind, str]] = ...) -> None: ...

class Recommendations(_message.Message):
    __slots__ = ("kind", "method", "items")
    KIND_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    kind: RecommendationKind
    method: RecommendationKind
    items: _containers.RepeatedCompositeFieldContainer[Recommendation]
    def __init__(self, kind: _Optional[_Union[RecommendationKind, str]] = ..., method: _Optional[_Union[RecommendationKind, str]] = ..., items: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ...) -> None: ...

class ChatStart(_message.Message):
    __slots__ = ("conversation_id", "order_id", "access_token", "take_over")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TAKE_OVER_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    order_id: str
    access_token: str
    take_over: bool
    def __init__(self, conversation_id: _Optional[str] = ..., order_id: _Optional[str] = ..., access_token: _Optional[str] = ..., take_over: _Optional[bool] = ...) -> None: ...

class ChatSay(_message.Message):
    __slots__ = ("client_message_id", "text")
    CLIENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    client_message_id: str
    text: str
    def __init__(self, client_message_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ChatCancel(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChatClose(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChatClientMessage(_message.Message):
    __slots__ = ("start", "say", "cancel", "close")
    START_FIELD_NUMBER: _ClassVar[int]
    SAY_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    start: ChatStart
    say: ChatSay
    cancel: ChatCancel
    close: ChatClose
    def __init__(self, start: _Optional[_Union[ChatStart, _Mapping]] = ..., say: _Optional[_Union[ChatSay, _Mapping]] = ..., cancel: _Optional[_Union[ChatCancel, _Mapping]] = ..., close: _Optional[_Union[ChatClose, _Mapping]] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("id", "speaker", "text", "created_at", "client_message_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    speaker: Speaker
    text: str
    created_at: _timestamp_pb2.Timestamp
    client_message_id: str
    def __init__(self, id: _Optional[str] = ..., speaker: _Optional[_Union[Speaker, str]] = ..., text: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., client_message_id: _Optional[str] = ...) -> None: ...

class ChatStarted(_message.Message):
    __slots__ = ("conversation_id", "handover", "history")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    HANDOVER_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    handover: HandoverState
    history: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    def __init__(self, conversation_id: _Optional[str] = ..., handover: _Optional[_Union[HandoverState, str]] = ..., history: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ...) -> None: ...

class ChatDelta(_message.Message):
    __slots__ = ("message_id", "text")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    text: str
    def __init__(self, message_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ChatToolNotice(_message.Message):
    __slots__ = ("tool", "text")
    TOOL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    tool: str
    text: str
    def __init__(self, tool: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ChatConfirmation(_message.Message):
    __slots__ = ("action", "order_id", "text")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    action: str
    order_id: str
    text: str
    def __init__(self, action: _Optional[str] = ..., order_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ChatHandover(_message.Message):
    __slots__ = ("state", "reason")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    state: HandoverState
    reason: HandoverReason
    def __init__(self, state: _Optional[_Union[HandoverState, str]] = ..., reason: _Optional[_Union[HandoverReason, str]] = ...) -> None: ...

class ChatNotice(_message.Message):
    __slots__ = ("code", "text")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    code: str
    text: str
    def __init__(self, code: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ChatServerMessage(_message.Message):
    __slots__ = ("conversation_id", "started", "delta", "tool", "confirmation", "handover", "message", "notice")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    HANDOVER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    started: ChatStarted
    delta: ChatDelta
    tool: ChatToolNotice
    confirmation: ChatConfirmation
    handover: ChatHandover
    message: ChatMessage
    notice: ChatNotice
    def __init__(self, conversation_id: _Optional[str] = ..., started: _Optional[_Union[ChatStarted, _Mapping]] = ..., delta: _Optional[_Union[ChatDelta, _Mapping]] = ..., tool: _Optional[_Union[ChatToolNotice, _Mapping]] = ..., confirmation: _Optional[_Union[ChatConfirmation, _Mapping]] = ..., handover: _Optional[_Union[ChatHandover, _Mapping]] = ..., message: _Optional[_Union[ChatMessage, _Mapping]] = ..., notice: _Optional[_Union[ChatNotice, _Mapping]] = ...) -> None: ...

class ConversationSummary(_message.Message):
    __slots__ = ("id", "customer_id", "order_id", "handover", "handover_reason", "message_count", "created_at", "updated_at", "staff_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    HANDOVER_FIELD_NUMBER: _ClassVar[int]
    HANDOVER_REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    order_id: str
    handover: HandoverState
    handover_reason: HandoverReason
    message_count: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    staff_id: str
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., order_id: _Optional[str] = ..., handover: _Optional[_Union[HandoverState, str]] = ..., handover_reason: _Optional[_Union[HandoverReason, str]] = ..., message_count: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., staff_id: _Optional[str] = ...) -> None: ...

class ListConversationsRequest(_message.Message):
    __slots__ = ("handover", "page_size", "page_token")
    HANDOVER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    handover: HandoverState
    page_size: int
    page_token: str
    def __init__(self, handover: _Optional[_Union[HandoverState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConversationsResponse(_message.Message):
    __slots__ = ("conversations", "next_page_token")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[ConversationSummary]
    next_page_token: str
    def __init__(self, conversations: _Optional[_Iterable[_Union[ConversationSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetConversationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("summary", "messages")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    summary: ConversationSummary
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    def __init__(self, summary: _Optional[_Union[ConversationSummary, _Mapping]] = ..., messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ...) -> None: ...
