import datetime

from agora._proto.agora.support.v1 import support_pb2 as _support_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversationStarted(_message.Message):
    __slots__ = ("conversation_id", "customer_id", "order_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    customer_id: str
    order_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class ConversationAnswered(_message.Message):
    __slots__ = ("conversation_id", "time_to_first_answer")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_ANSWER_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    time_to_first_answer: _duration_pb2.Duration
    def __init__(self, conversation_id: _Optional[str] = ..., time_to_first_answer: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ConversationHandedOver(_message.Message):
    __slots__ = ("conversation_id", "state", "reason", "staff_id")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    state: _support_pb2.HandoverState
    reason: _support_pb2.HandoverReason
    staff_id: str
    def __init__(self, conversation_id: _Optional[str] = ..., state: _Optional[_Union[_support_pb2.HandoverState, str]] = ..., reason: _Optional[_Union[_support_pb2.HandoverReason, str]] = ..., staff_id: _Optional[str] = ...) -> None: ...

class ConversationClosed(_message.Message):
    __slots__ = ("conversation_id", "resolved_by_assistant", "handed_over", "message_count", "tokens_in", "tokens_out")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_ASSISTANT_FIELD_NUMBER: _ClassVar[int]
    HANDED_OVER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_IN_FIELD_NUMBER: _ClassVar[int]
    TOKENS_OUT_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    resolved_by_assistant: bool
    handed_over: bool
    message_count: int
    tokens_in: int
    tokens_out: int
    def __init__(self, conversation_id: _Optional[str] = ..., resolved_by_assistant: _Optional[bool] = ..., handed_over: _Optional[bool] = ..., message_count: _Optional[int] = ..., tokens_in: _Optional[int] = ..., tokens_out: _Optional[int] = ...) -> None: ...
