from agora._proto.agora.chain.v1 import chain_pb2 as _chain_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransferDetected(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _chain_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_chain_pb2.Transfer, _Mapping]] = ...) -> None: ...

class TransferConfirmed(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _chain_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_chain_pb2.Transfer, _Mapping]] = ...) -> None: ...

class TransferReorged(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: _chain_pb2.Transfer
    def __init__(self, transfer: _Optional[_Union[_chain_pb2.Transfer, _Mapping]] = ...) -> None: ...

class NetworkChanged(_message.Message):
    __slots__ = ("network",)
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    network: _chain_pb2.Network
    def __init__(self, network: _Optional[_Union[_chain_pb2.Network, _Mapping]] = ...) -> None: ...

class SweepCompleted(_message.Message):
    __slots__ = ("sweep",)
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    sweep: _chain_pb2.Sweep
    def __init__(self, sweep: _Optional[_Union[_chain_pb2.Sweep, _Mapping]] = ...) -> None: ...

class ReconciliationCompleted(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: _chain_pb2.ReconciliationRun
    def __init__(self, run: _Optional[_Union[_chain_pb2.ReconciliationRun, _Mapping]] = ...) -> None: ...

class WalletRegistered(_message.Message):
    __slots__ = ("customer_id", "wallet")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    wallet: _chain_pb2.Wallet
    def __init__(self, customer_id: _Optional[str] = ..., wallet: _Optional[_Union[_chain_pb2.Wallet, _Mapping]] = ...) -> None: ...

class RewardGranted(_message.Message):
    __slots__ = ("customer_id", "reward")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    reward: _chain_pb2.Reward
    def __init__(self, customer_id: _Optional[str] = ..., reward: _Optional[_Union[_chain_pb2.Reward, _Mapping]] = ...) -> None: ...

class RefundInstructed(_message.Message):
    __slots__ = ("instruction",)
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    instruction: _chain_pb2.RefundInstruction
    def __init__(self, instruction: _Optional[_Union[_chain_pb2.RefundInstruction, _Mapping]] = ...) -> None: ...

class RefundSent(_message.Message):
    __slots__ = ("instruction",)
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    instruction: _chain_pb2.RefundInstruction
    def __init__(self, instruction: _Optional[_Union[_chain_pb2.RefundInstruction, _Mapping]] = ...) -> None: ...
