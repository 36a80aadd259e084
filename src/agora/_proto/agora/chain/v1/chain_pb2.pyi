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

class Speed(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPEED_UNSPECIFIED: _ClassVar[Speed]
    SPEED_LOW: _ClassVar[Speed]
    SPEED_MEDIUM: _ClassVar[Speed]
    SPEED_HIGH: _ClassVar[Speed]

class TransferKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_KIND_UNSPECIFIED: _ClassVar[TransferKind]
    TRANSFER_KIND_DEPOSIT: _ClassVar[TransferKind]
    TRANSFER_KIND_ROUTER: _ClassVar[TransferKind]

class TransferStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_STATUS_UNSPECIFIED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_DETECTED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_CONFIRMED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_REORGED: _ClassVar[TransferStatus]

class SweepStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SWEEP_STATUS_UNSPECIFIED: _ClassVar[SweepStatus]
    SWEEP_STATUS_PENDING: _ClassVar[SweepStatus]
    SWEEP_STATUS_CONFIRMED: _ClassVar[SweepStatus]
    SWEEP_STATUS_FAILED: _ClassVar[SweepStatus]

class ReconciliationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECONCILIATION_STATUS_UNSPECIFIED: _ClassVar[ReconciliationStatus]
    RECONCILIATION_STATUS_RUNNING: _ClassVar[ReconciliationStatus]
    RECONCILIATION_STATUS_COMPLETED: _ClassVar[ReconciliationStatus]
    RECONCILIATION_STATUS_FAILED: _ClassVar[ReconciliationStatus]

class ReconciliationOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECONCILIATION_OUTCOME_UNSPECIFIED: _ClassVar[ReconciliationOutcome]
    RECONCILIATION_OUTCOME_MATCHED: _ClassVar[ReconciliationOutcome]
    RECONCILIATION_OUTCOME_NOT_CREDITED: _ClassVar[ReconciliationOutcome]
    RECONCILIATION_OUTCOME_NOT_ON_CHAIN: _ClassVar[ReconciliationOutcome]
    RECONCILIATION_OUTCOME_AMOUNT_MISMATCH: _ClassVar[ReconciliationOutcome]
    RECONCILIATION_OUTCOME_TOKEN_MISMATCH: _ClassVar[ReconciliationOutcome]
    RECONCILIATION_OUTCOME_SWEEP: _ClassVar[ReconciliationOutcome]

class RefundInstructionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REFUND_INSTRUCTION_STATUS_UNSPECIFIED: _ClassVar[RefundInstructionStatus]
    REFUND_INSTRUCTION_STATUS_PENDING: _ClassVar[RefundInstructionStatus]
    REFUND_INSTRUCTION_STATUS_SENT: _ClassVar[RefundInstructionStatus]
SPEED_UNSPECIFIED: Speed
SPEED_LOW: Speed
SPEED_MEDIUM: Speed
SPEED_HIGH: Speed
TRANSFER_KIND_UNSPECIFIED: TransferKind
TRANSFER_KIND_DEPOSIT: TransferKind
TRANSFER_KIND_ROUTER: TransferKind
TRANSFER_STATUS_UNSPECIFIED: TransferStatus
TRANSFER_STATUS_DETECTED: TransferStatus
TRANSFER_STATUS_CONFIRMED: TransferStatus
TRANSFER_STATUS_REORGED: TransferStatus
SWEEP_STATUS_UNSPECIFIED: SweepStatus
SWEEP_STATUS_PENDING: SweepStatus
SWEEP_STATUS_CONFIRMED: SweepStatus
SWEEP_STATUS_FAILED: SweepStatus
RECONCILIATION_STATUS_UNSPECIFIED: ReconciliationStatus
RECONCILIATION_STATUS_RUNNING: ReconciliationStatus
RECONCILIATION_STATUS_COMPLETED: ReconciliationStatus
RECONCILIATION_STATUS_FAILED: ReconciliationStatus
RECONCILIATION_OUTCOME_UNSPECIFIED: ReconciliationOutcome
RECONCILIATION_OUTCOME_MATCHED: ReconciliationOutcome
RECONCILIATION_OUTCOME_NOT_CREDITED: ReconciliationOutcome
RECONCILIATION_OUTCOME_NOT_ON_CHAIN: ReconciliationOutcome
RECONCILIATION_OUTCOME_AMOUNT_MISMATCH: ReconciliationOutcome
RECONCILIATION_OUTCOME_TOKEN_MISMATCH: ReconciliationOutcome
RECONCILIATION_OUTCOME_SWEEP: ReconciliationOutcome
REFUND_INSTRUCTION_STATUS_UNSPECIFIED: RefundInstructionStatus
REFUND_INSTRUCTION_STATUS_PENDING: RefundInstructionStatus
REFUND_INSTRUCTION_STATUS_SENT: RefundInstructionStatus

class Network(_message.Message):
    __slots__ = ("chain_id", "name", "rpc_url", "confirmations_low", "confirmations_medium", "confirmations_high", "block_time_ms", "treasury_address", "router_address", "checkpoint_block", "head_block", "version")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RPC_URL_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_LOW_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_MEDIUM_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_HIGH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TREASURY_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROUTER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    HEAD_BLOCK_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    name: str
    rpc_url: str
    confirmations_low: int
    confirmations_medium: int
    confirmations_high: int
    block_time_ms: int
    treasury_address: str
    router_address: str
    checkpoint_block: int
    head_block: int
    version: int
    def __init__(self, chain_id: _Optional[int] = ..., name: _Optional[str] = ..., rpc_url: _Optional[str] = ..., confirmations_low: _Optional[int] = ..., confirmations_medium: _Optional[int] = ..., confirmations_high: _Optional[int] = ..., block_time_ms: _Optional[int] = ..., treasury_address: _Optional[str] = ..., router_address: _Optional[str] = ..., checkpoint_block: _Optional[int] = ..., head_block: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class Token(_message.Message):
    __slots__ = ("chain_id", "symbol", "address", "decimals", "dust_limit")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DECIMALS_FIELD_NUMBER: _ClassVar[int]
    DUST_LIMIT_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    symbol: str
    address: str
    decimals: int
    dust_limit: _money_pb2.CryptoAmount
    def __init__(self, chain_id: _Optional[int] = ..., symbol: _Optional[str] = ..., address: _Optional[str] = ..., decimals: _Optional[int] = ..., dust_limit: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ...) -> None: ...

class PaymentOptions(_message.Message):
    __slots__ = ("invoice_id", "chain_id", "token", "amount", "deposit_address", "eip681_uri", "qr_svg", "router_address", "router_calldata", "router_invoice_id", "confirmations_required", "expires_at")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EIP681_URI_FIELD_NUMBER: _ClassVar[int]
    QR_SVG_FIELD_NUMBER: _ClassVar[int]
    ROUTER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROUTER_CALLDATA_FIELD_NUMBER: _ClassVar[int]
    ROUTER_INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    chain_id: int
    token: Token
    amount: _money_pb2.CryptoAmount
    deposit_address: str
    eip681_uri: str
    qr_svg: str
    router_address: str
    router_calldata: str
    router_invoice_id: str
    confirmations_required: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, invoice_id: _Optional[str] = ..., chain_id: _Optional[int] = ..., token: _Optional[_Union[Token, _Mapping]] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., deposit_address: _Optional[str] = ..., eip681_uri: _Optional[str] = ..., qr_svg: _Optional[str] = ..., router_address: _Optional[str] = ..., router_calldata: _Optional[str] = ..., router_invoice_id: _Optional[str] = ..., confirmations_required: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("chain_id", "tx_hash", "log_index", "block_number", "block_hash", "block_time", "kind", "token_address", "symbol", "from_address", "to_address", "amount", "invoice_id", "confirmations", "confirmations_required", "status", "flags", "reference")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    block_time: _timestamp_pb2.Timestamp
    kind: TransferKind
    token_address: str
    symbol: str
    from_address: str
    to_address: str
    amount: _money_pb2.CryptoAmount
    invoice_id: str
    confirmations: int
    confirmations_required: int
    status: TransferStatus
    flags: _containers.RepeatedScalarFieldContainer[str]
    reference: str
    def __init__(self, chain_id: _Optional[int] = ..., tx_hash: _Optional[str] = ..., log_index: _Optional[int] = ..., block_number: _Optional[int] = ..., block_hash: _Optional[str] = ..., block_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[TransferKind, str]] = ..., token_address: _Optional[str] = ..., symbol: _Optional[str] = ..., from_address: _Optional[str] = ..., to_address: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., invoice_id: _Optional[str] = ..., confirmations: _Optional[int] = ..., confirmations_required: _Optional[int] = ..., status: _Optional[_Union[TransferStatus, str]] = ..., flags: _Optional[_Iterable[str]] = ..., reference: _Optional[str] = ...) -> None: ...

class Sweep(_message.Message):
    __slots__ = ("id", "chain_id", "deposit_address", "treasury_address", "token_address", "amount", "gas_tx_hash", "tx_hash", "status", "failure", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TREASURY_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    GAS_TX_HASH_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    chain_id: int
    deposit_address: str
    treasury_address: str
    token_address: str
    amount: _money_pb2.CryptoAmount
    gas_tx_hash: str
    tx_hash: str
    status: SweepStatus
    failure: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., chain_id: _Optional[int] = ..., deposit_address: _Optional[str] = ..., treasury_address: _Optional[str] = ..., token_address: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., gas_tx_hash: _Optional[str] = ..., tx_hash: _Optional[str] = ..., status: _Optional[_Union[SweepStatus, str]] = ..., failure: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReconciliationCounts(_message.Message):
    __slots__ = ("matched", "not_credited", "not_on_chain", "amount_mismatch", "token_mismatch", "sweeps")
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    NOT_CREDITED_FIELD_NUMBER: _ClassVar[int]
    NOT_ON_CHAIN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    TOKEN_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    SWEEPS_FIELD_NUMBER: _ClassVar[int]
    matched: int
    not_credited: int
    not_on_chain: int
    amount_mismatch: int
    token_mismatch: int
    sweeps: int
    def __init__(self, matched: _Optional[int] = ..., not_credited: _Optional[int] = ..., not_on_chain: _Optional[int] = ..., amount_mismatch: _Optional[int] = ..., token_mismatch: _Optional[int] = ..., sweeps: _Optional[int] = ...) -> None: ...

class ReconciliationRun(_message.Message):
    __slots__ = ("id", "chain_id", "since", "until", "from_block", "to_block", "status", "counts", "has_mismatches", "failure", "started_at", "completed_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    FROM_BLOCK_FIELD_NUMBER: _ClassVar[int]
    TO_BLOCK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    HAS_MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    chain_id: int
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    from_block: int
    to_block: int
    status: ReconciliationStatus
    counts: ReconciliationCounts
    has_mismatches: bool
    failure: str
    started_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., chain_id: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_block: _Optional[int] = ..., to_block: _Optional[int] = ..., status: _Optional[_Union[ReconciliationStatus, str]] = ..., counts: _Optional[_Union[ReconciliationCounts, _Mapping]] = ..., has_mismatches: _Optional[bool] = ..., failure: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReconciliationItem(_message.Message):
    __slots__ = ("outcome", "invoice_id", "reference", "tx_hash", "block_number", "token_address", "on_chain", "credited", "detail")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ON_CHAIN_FIELD_NUMBER: _ClassVar[int]
    CREDITED_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    outcome: ReconciliationOutcome
    invoice_id: str
    reference: str
    tx_hash: str
    block_number: int
    token_address: str
    on_chain: _money_pb2.CryptoAmount
    credited: _money_pb2.CryptoAmount
    detail: str
    def __init__(self, outcome: _Optional[_Union[ReconciliationOutcome, str]] = ..., invoice_id: _Optional[str] = ..., reference: _Optional[str] = ..., tx_hash: _Optional[str] = ..., block_number: _Optional[int] = ..., token_address: _Optional[str] = ..., on_chain: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., credited: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class WalletChallenge(_message.Message):
    __slots__ = ("address", "message", "nonce", "expires_at")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    address: str
    message: str
    nonce: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, address: _Optional[str] = ..., message: _Optional[str] = ..., nonce: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Wallet(_message.Message):
    __slots__ = ("address", "registered_at")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    address: str
    registered_at: _timestamp_pb2.Timestamp
    def __init__(self, address: _Optional[str] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Reward(_message.Message):
    __slots__ = ("order_id", "amount", "minted", "tx_hash", "created_at")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MINTED_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    amount: _money_pb2.CryptoAmount
    minted: bool
    tx_hash: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, order_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., minted: _Optional[bool] = ..., tx_hash: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Rewards(_message.Message):
    __slots__ = ("wallet", "minted", "accrued", "rewards")
    WALLET_FIELD_NUMBER: _ClassVar[int]
    MINTED_FIELD_NUMBER: _ClassVar[int]
    ACCRUED_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    wallet: Wallet
    minted: _money_pb2.CryptoAmount
    accrued: _money_pb2.CryptoAmount
    rewards: _containers.RepeatedCompositeFieldContainer[Reward]
    def __init__(self, wallet: _Optional[_Union[Wallet, _Mapping]] = ..., minted: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., accrued: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., rewards: _Optional[_Iterable[_Union[Reward, _Mapping]]] = ...) -> None: ...

class ListNetworksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNetworksResponse(_message.Message):
    __slots__ = ("networks",)
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    networks: _containers.RepeatedCompositeFieldContainer[Network]
    def __init__(self, networks: _Optional[_Iterable[_Union[Network, _Mapping]]] = ...) -> None: ...

class UpdateNetworkRequest(_message.Message):
    __slots__ = ("idempotency_key", "chain_id", "confirmations_low", "confirmations_medium", "confirmations_high", "block_time_ms", "version")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_LOW_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_MEDIUM_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_HIGH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    chain_id: int
    confirmations_low: int
    confirmations_medium: int
    confirmations_high: int
    block_time_ms: int
    version: int
    def __init__(self, idempotency_key: _Optional[str] = ..., chain_id: _Optional[int] = ..., confirmations_low: _Optional[int] = ..., confirmations_medium: _Optional[int] = ..., confirmations_high: _Optional[int] = ..., block_time_ms: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = ("chain_id",)
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    def __init__(self, chain_id: _Optional[int] = ...) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[Token]
    def __init__(self, tokens: _Optional[_Iterable[_Union[Token, _Mapping]]] = ...) -> None: ...

class CreatePaymentOptionsRequest(_message.Message):
    __slots__ = ("invoice_id", "symbol", "amount", "expires_at", "speed", "chain_id")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    symbol: str
    amount: _money_pb2.CryptoAmount
    expires_at: _timestamp_pb2.Timestamp
    speed: Speed
    chain_id: int
    def __init__(self, invoice_id: _Optional[str] = ..., symbol: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., speed: _Optional[_Union[Speed, str]] = ..., chain_id: _Optional[int] = ...) -> None: ...

class GetPaymentOptionsRequest(_message.Message):
    __slots__ = ("invoice_id",)
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    def __init__(self, invoice_id: _Optional[str] = ...) -> None: ...

class ListTransfersRequest(_message.Message):
    __slots__ = ("invoice_id", "flagged_only", "page_size", "page_token")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    flagged_only: bool
    page_size: int
    page_token: str
    def __init__(self, invoice_id: _Optional[str] = ..., flagged_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTransfersResponse(_message.Message):
    __slots__ = ("transfers", "next_page_token")
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transfers: _containers.RepeatedCompositeFieldContainer[Transfer]
    next_page_token: str
    def __init__(self, transfers: _Optional[_Iterable[_Union[Transfer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListSweepsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSweepsResponse(_message.Message):
    __slots__ = ("sweeps", "next_page_token")
    SWEEPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sweeps: _containers.RepeatedCompositeFieldContainer[Sweep]
    next_page_token: str
    def __init__(self, sweeps: _Optional[_Iterable[_Union[Sweep, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StartReconciliationRequest(_message.Message):
    __slots__ = ("idempotency_key", "since", "until", "chain_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    chain_id: int
    def __init__(self, idempotency_key: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., chain_id: _Optional[int] = ...) -> None: ...

class GetReconciliationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListReconciliationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReconciliationsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[ReconciliationRun]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[ReconciliationRun, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListReconciliationItemsRequest(_message.Message):
    __slots__ = ("id", "page_size", "page_token")
    ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    page_size: int
    page_token: str
    def __init__(self, id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReconciliationItemsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ReconciliationItem]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[ReconciliationItem, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateWalletChallengeRequest(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: str
    def __init__(self, address: _Optional[str] = ...) -> None: ...

class RegisterWalletRequest(_message.Message):
    __slots__ = ("idempotency_key", "address", "nonce", "signature")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    address: str
    nonce: str
    signature: str
    def __init__(self, idempotency_key: _Optional[str] = ..., address: _Optional[str] = ..., nonce: _Optional[str] = ..., signature: _Optional[str] = ...) -> None: ...

class GetRewardsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClaimRewardsRequest(_message.Message):
    __slots__ = ("idempotency_key",)
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    def __init__(self, idempotency_key: _Optional[str] = ...) -> None: ...

class RefundInstruction(_message.Message):
    __slots__ = ("refund_id", "invoice_id", "order_id", "chain_id", "token", "amount", "pay_to", "eip681_uri", "status", "reason", "tx_hash", "block_number", "sent_from", "created_at", "sent_at")
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAY_TO_FIELD_NUMBER: _ClassVar[int]
    EIP681_URI_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SENT_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    refund_id: str
    invoice_id: str
    order_id: str
    chain_id: int
    token: Token
    amount: _money_pb2.CryptoAmount
    pay_to: str
    eip681_uri: str
    status: RefundInstructionStatus
    reason: str
    tx_hash: str
    block_number: int
    sent_from: str
    created_at: _timestamp_pb2.Timestamp
    sent_at: _timestamp_pb2.Timestamp
    def __init__(self, refund_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., order_id: _Optional[str] = ..., chain_id: _Optional[int] = ..., token: _Optional[_Union[Token, _Mapping]] = ..., amount: _Optional[_Union[_money_pb2.CryptoAmount, _Mapping]] = ..., pay_to: _Optional[str] = ..., eip681_uri: _Optional[str] = ..., status: _Optional[_Union[RefundInstructionStatus, str]] = ..., reason: _Optional[str] = ..., tx_hash: _Optional[str] = ..., block_number: _Optional[int] = ..., sent_from: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListRefundInstructionsRequest(_message.Message):
    __slots__ = ("status", "invoice_id", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: RefundInstructionStatus
    invoice_id: str
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[_Union[RefundInstructionStatus, str]] = ..., invoice_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRefundInstructionsResponse(_message.Message):
    __slots__ = ("instructions", "next_page_token")
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    instructions: _containers.RepeatedCompositeFieldContainer[RefundInstruction]
    next_page_token: str
    def __init__(self, instructions: _Optional[_Iterable[_Union[RefundInstruction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRefundInstructionRequest(_message.Message):
    __slots__ = ("refund_id",)
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    refund_id: str
    def __init__(self, refund_id: _Optional[str] = ...) -> None: ...

class RecordRefundPaymentRequest(_message.Message):
    __slots__ = ("idempotency_key", "refund_id", "tx_hash")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    refund_id: str
    tx_hash: str
    def __init__(self, idempotency_key: _Optional[str] = ..., refund_id: _Optional[str] = ..., tx_hash: _Optional[str] = ...) -> None: ...
