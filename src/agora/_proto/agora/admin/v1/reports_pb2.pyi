import datetime

from agora._proto.agora.options.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportCadence(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_CADENCE_UNSPECIFIED: _ClassVar[ReportCadence]
    REPORT_CADENCE_DAILY: _ClassVar[ReportCadence]
    REPORT_CADENCE_WEEKLY: _ClassVar[ReportCadence]
    REPORT_CADENCE_MONTHLY: _ClassVar[ReportCadence]
REPORT_CADENCE_UNSPECIFIED: ReportCadence
REPORT_CADENCE_DAILY: ReportCadence
REPORT_CADENCE_WEEKLY: ReportCadence
REPORT_CADENCE_MONTHLY: ReportCadence

class GetReportRequest(_message.Message):
    __slots__ = ("kind", "start_date", "end_date", "currency", "limit")
    KIND_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    start_date: str
    end_date: str
    currency: str
    limit: int
    def __init__(self, kind: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., currency: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ExportReportRequest(_message.Message):
    __slots__ = ("kind", "start_date", "end_date", "currency", "format")
    KIND_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    start_date: str
    end_date: str
    currency: str
    format: str
    def __init__(self, kind: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., currency: _Optional[str] = ..., format: _Optional[str] = ...) -> None: ...

class ReportColumn(_message.Message):
    __slots__ = ("key", "label", "type")
    KEY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    key: str
    label: str
    type: str
    def __init__(self, key: _Optional[str] = ..., label: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class ReportRow(_message.Message):
    __slots__ = ("cells",)
    CELLS_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cells: _Optional[_Iterable[str]] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("kind", "title", "start_date", "end_date", "currency", "converted", "unconverted_currencies", "provisional", "columns", "rows", "totals", "row_count", "generated_at", "checksum")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    UNCONVERTED_CURRENCIES_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    kind: str
    title: str
    start_date: str
    end_date: str
    currency: str
    converted: bool
    unconverted_currencies: _containers.RepeatedScalarFieldContainer[str]
    provisional: bool
    columns: _containers.RepeatedCompositeFieldContainer[ReportColumn]
    rows: _containers.RepeatedCompositeFieldContainer[ReportRow]
    totals: ReportRow
    row_count: int
    generated_at: _timestamp_pb2.Timestamp
    checksum: str
    def __init__(self, kind: _Optional[str] = ..., title: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., currency: _Optional[str] = ..., converted: _Optional[bool] = ..., unconverted_currencies: _Optional[_Iterable[str]] = ..., provisional: _Optional[bool] = ..., columns: _Optional[_Iterable[_Union[ReportColumn, _Mapping]]] = ..., rows: _Optional[_Iterable[_Union[ReportRow, _Mapping]]] = ..., totals: _Optional[_Union[ReportRow, _Mapping]] = ..., row_count: _Optional[int] = ..., generated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., checksum: _Optional[str] = ...) -> None: ...

class ReportSchedule(_message.Message):
    __slots__ = ("id", "kind", "formats", "cadence", "currency", "recipient_ids", "created_by", "created_at", "last_sent_period")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    CADENCE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SENT_PERIOD_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    formats: _containers.RepeatedScalarFieldContainer[str]
    cadence: ReportCadence
    currency: str
    recipient_ids: _containers.RepeatedScalarFieldContainer[str]
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    last_sent_period: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., formats: _Optional[_Iterable[str]] = ..., cadence: _Optional[_Union[ReportCadence, str]] = ..., currency: _Optional[str] = ..., recipient_ids: _Optional[_Iterable[str]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_sent_period: _Optional[str] = ...) -> None: ...

class CreateReportScheduleRequest(_message.Message):
    __slots__ = ("idempotency_key", "kind", "formats", "cadence", "currency", "recipient_ids")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    CADENCE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_IDS_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    kind: str
    formats: _containers.RepeatedScalarFieldContainer[str]
    cadence: ReportCadence
    currency: str
    recipient_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, idempotency_key: _Optional[str] = ..., kind: _Optional[str] = ..., formats: _Optional[_Iterable[str]] = ..., cadence: _Optional[_Union[ReportCadence, str]] = ..., currency: _Optional[str] = ..., recipient_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListReportSchedulesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReportSchedulesResponse(_message.Message):
    __slots__ = ("schedules", "next_page_token")
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[ReportSchedule]
    next_page_token: str
    def __init__(self, schedules: _Optional[_Iterable[_Union[ReportSchedule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteReportScheduleRequest(_message.Message):
    __slots__ = ("idempotency_key", "id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteReportScheduleResponse(_message.Message):
    __slots__ = ("id", "deleted")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    id: str
    deleted: bool
    def __init__(self, id: _Optional[str] = ..., deleted: _Optional[bool] = ...) -> None: ...
