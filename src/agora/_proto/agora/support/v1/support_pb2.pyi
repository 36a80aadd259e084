from agora._proto.agora.options.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
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
RECOMMENDATION_KIND_UNSPECIFIED: RecommendationKind
RECOMMENDATION_KIND_ALSO_BOUGHT: RecommendationKind
RECOMMENDATION_KIND_SIMILAR: RecommendationKind
RECOMMENDATION_KIND_FOR_YOU: RecommendationKind
RECOMMENDATION_KIND_POPULAR: RecommendationKind

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
