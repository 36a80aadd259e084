"""The development chain: its contracts deployed and its wallets funded (`prepare_devnet`), and
paying an invoice as a customer's wallet would (`pay_by_transfer`, `pay_by_router`).

Only for dev chains (anvil's 31337, or an id the caller explicitly allows): the wallets are
anvil's accounts of the public test mnemonic, whose keys everyone knows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3RPCError

from agora.chain.contracts import Deployment, contract, deploy_dev_contracts, dev_addresses
from agora.chain.contracts import dev_deployer as _deployer
from agora.platform.embedded.anvil import (
    DEV_CHAIN_ID,
    DEV_TREASURY_INDEX,
    DEV_WALLETS,
    dev_account,
)

# What `prepare_devnet` tops each development wallet up to (never beyond), in base units.
USDT_TARGET = 10_000 * 10**6
AGT_TARGET = 10_000 * 10**18
# The operator (the chain service's hot wallet) pays gas for mints and sweeps.
OPERATOR_ETH_TARGET = 10 * 10**18
RECEIPT_TIMEOUT_S = 60

# What paying needs of any ERC-20, declared without return values: a transaction's output is
# never read, so mainnet USDT's `transfer` (returns nothing) and AgoraToken's (returns a bool)
# are sent the same way, and success is the receipt's status.
ERC20_PAYER_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": name,
        "stateMutability": "nonpayable",
        "inputs": [{"name": first, "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [],
    }
    for name, first in (("transfer", "to"), ("approve", "spender"))
] + [
    {
        "type": "function",
        "name": "allowance",
        "stateMutability": "view",
        "inputs": [
            {"name": "owner", "type": "address"},
            {"name": "spender", "type": "address"},
        ],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]


class NotADevChain(RuntimeError):
    """The node's chain is not a development chain: nothing is deployed or funded there."""


class PaymentFailed(RuntimeError):
    """A payment transaction was refused (reverted, or would revert)."""


@dataclass(frozen=True, slots=True)
class DevWallet:
    name: str
    address: ChecksumAddress
    # Only on a dev chain (the key is public there, and worthless).
    private_key: str | None


@dataclass(frozen=True, slots=True)
class Balances:
    """Base units of ether, the USDT stand-in and the shop token."""

    eth: int
    usdt: int
    agt: int


@dataclass(frozen=True, slots=True)
class Payment:
    tx_hash: str
    block_number: int


def is_dev_chain(chain_id: int, allowed_chain_ids: Collection[int] = ()) -> bool:
    return chain_id == DEV_CHAIN_ID or chain_id in allowed_chain_ids


def require_dev_chain(w3: Web3, allowed_chain_ids: Collection[int] = ()) -> int:
    """The node's chain id; NotADevChain unless it is 31337 or explicitly allowed."""
    chain_id = w3.eth.chain_id
    if not is_dev_chain(chain_id, allowed_chain_ids):
        raise NotADevChain(
            f"chain id {chain_id} is not a development chain (31337"
            f"{''.join(f', {i}' for i in sorted(allowed_chain_ids))}): refused"
        )
    return chain_id


def dev_wallets(
    chain_id: int = DEV_CHAIN_ID, allowed_chain_ids: Collection[int] = ()
) -> dict[str, DevWallet]:
    """dev-1..dev-5 (anvil's accounts 1..5): name -> wallet, with its key on a dev chain only."""
    keys = is_dev_chain(chain_id, allowed_chain_ids)
    wallets = {}
    for name, index in DEV_WALLETS.items():
        account = dev_account(index)
        key = "0x" + bytes(account.key).hex() if keys else None
        wallets[name] = DevWallet(name, account.address, key)
    return wallets


def dev_treasury() -> ChecksumAddress:
    """The shop's treasury on the dev chain: anvil's account 9."""
    return dev_account(DEV_TREASURY_INDEX).address


def prepare_devnet(
    w3: Web3,
    *,
    treasury: str,
    operator: str,
    allowed_chain_ids: Collection[int] = (),
) -> Deployment:
    """Make the dev chain ready to pay on, on a fresh chain or a restarted one.

    Deploys the contracts where their fixed addresses hold no code, points the router at
    `treasury`, makes `operator` a minter of AgoraToken with ether for gas, and tops dev-1..dev-5
    up to 10,000 USDT and 10,000 AGT. Only what differs from that target is sent, so a second
    run sends nothing. NotADevChain on any other chain.
    """
    require_dev_chain(w3, allowed_chain_ids)
    deployment = dev_addresses()
    if not all(w3.eth.get_code(a) for a in (deployment.token, deployment.usdt, deployment.router)):
        deployment = deploy_dev_contracts(w3, treasury=treasury)
    token = contract(w3, "AgoraToken", deployment.token)
    usdt = contract(w3, "TestUSDT", deployment.usdt)
    router = contract(w3, "PaymentRouter", deployment.router)
    treasury = Web3.to_checksum_address(treasury)
    operator = Web3.to_checksum_address(operator)
    deployer = _deployer()

    calls: list[ContractFunction | tuple[str, int]] = []
    if router.functions.treasury().call() != treasury:
        calls.append(router.functions.set_treasury(treasury))
    for minter in (operator, deployer.address):  # the deployer mints the wallets' AGT
        if not token.functions.is_minter(minter).call():
            calls.append(token.functions.set_minter(minter, True))
    if w3.eth.get_balance(operator) < OPERATOR_ETH_TARGET // 2:
        calls.append((operator, OPERATOR_ETH_TARGET - w3.eth.get_balance(operator)))
    pending = _send_all(w3, deployer, calls)
    _wait_all(w3, pending)  # the deployer must be a minter before it mints

    mints: list[ContractFunction | tuple[str, int]] = []
    for wallet in dev_wallets(w3.eth.chain_id, allowed_chain_ids).values():
        for handle, target in ((usdt, USDT_TARGET), (token, AGT_TARGET)):
            balance = handle.functions.balanceOf(wallet.address).call()
            if balance < target:
                mints.append(handle.functions.mint(wallet.address, target - balance))
    _wait_all(w3, _send_all(w3, deployer, mints))
    return deployment


def prepare_devnet_at(rpc_url: str, *, treasury: str, operator: str) -> Deployment:
    """`prepare_devnet` on the node at `rpc_url`."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
    return prepare_devnet(w3, treasury=treasury, operator=operator)


def balances(w3: Web3, deployment: Deployment, address: str) -> Balances:
    address = Web3.to_checksum_address(address)
    return Balances(
        eth=w3.eth.get_balance(address),
        usdt=_erc20(w3, deployment.usdt).functions.balanceOf(address).call(),
        agt=_erc20(w3, deployment.token).functions.balanceOf(address).call(),
    )


def pay_by_transfer(w3: Web3, account: LocalAccount, token: str, to: str, amount: int) -> Payment:
    """`token.transfer(to, amount)` from `account` (a plain payment to a deposit address).

    PaymentFailed when it would revert or did (USDT returns no bool: the receipt decides).
    """
    _require_amount(amount)
    erc20 = _erc20(w3, token)
    call = erc20.functions.transfer(Web3.to_checksum_address(to), amount)
    return _payment(_wait_all(w3, _send_all(w3, account, [call]))[0])


def pay_by_router(
    w3: Web3,
    account: LocalAccount,
    *,
    router: str,
    token: str,
    router_invoice_id: bytes,
    amount: int,
) -> Payment:
    """Approve `router` for `amount` of `token` (resetting a stale allowance to zero first, as
    USDT demands), then `router.pay(router_invoice_id, token, amount)`: the payment of a
    connected wallet. PaymentFailed when a transaction would revert or did."""
    _require_amount(amount)
    if len(router_invoice_id) != 32:
        raise ValueError("router_invoice_id must be 32 bytes")
    erc20 = _erc20(w3, token)
    router_address = Web3.to_checksum_address(router)
    allowance = erc20.functions.allowance(account.address, router_address).call()
    if allowance < amount:
        approvals: list[ContractFunction | tuple[str, int]] = []
        if allowance:
            approvals.append(erc20.functions.approve(router_address, 0))
        approvals.append(erc20.functions.approve(router_address, amount))
        _wait_all(w3, _send_all(w3, account, approvals))
    pay = contract(w3, "PaymentRouter", router_address).functions.pay(
        router_invoice_id, erc20.address, amount
    )
    return _payment(_wait_all(w3, _send_all(w3, account, [pay]))[0])


def mine(w3: Web3, blocks: int) -> int:
    """Mine `blocks` blocks at once (anvil's `anvil_mine`); the new head's number."""
    if not 1 <= blocks <= 100_000:
        raise ValueError("blocks must be between 1 and 100000")
    reply = w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]
    if "error" in reply:
        raise RuntimeError(f"the node refused anvil_mine: {reply['error']}")
    return w3.eth.block_number


# --- sending ------------------------------------------------------------------------------


def _erc20(w3: Web3, address: str) -> Any:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=ERC20_PAYER_ABI)


def _require_amount(amount: int) -> None:
    if not 0 < amount < 2**256:
        raise ValueError("amount must be a positive number of base units below 2**256")


def _send_all(
    w3: Web3, account: LocalAccount, calls: list[ContractFunction | tuple[str, int]]
) -> list[HexBytes]:
    """Sign and send each call (or (to, wei) ether transfer) with consecutive nonces, without
    waiting: on a node mining on an interval they land together."""
    chain_id = w3.eth.chain_id
    first = w3.eth.get_transaction_count(account.address, "pending")
    hashes = []
    for nonce, call in enumerate(calls, start=first):
        params: dict[str, Any] = {"from": account.address, "nonce": nonce, "chainId": chain_id}
        tx: dict[str, Any]
        try:
            if isinstance(call, tuple):
                to, value = call
                tx = {**params, "to": to, "value": value, "gas": 21_000, **_fees(w3)}
            else:
                tx = dict(call.build_transaction(params))  # type: ignore[arg-type]
        except (ContractLogicError, Web3RPCError) as refused:
            raise PaymentFailed(f"the transaction would revert: {refused}") from None
        signed = account.sign_transaction(tx)
        hashes.append(w3.eth.send_raw_transaction(signed.raw_transaction))
    return hashes


def _fees(w3: Web3) -> dict[str, int]:
    priority = w3.eth.max_priority_fee
    base = w3.eth.get_block("latest").get("baseFeePerGas", 0)
    return {"maxFeePerGas": 2 * base + priority, "maxPriorityFeePerGas": priority}


def _wait_all(w3: Web3, hashes: list[HexBytes]) -> list[Any]:
    receipts = []
    for tx_hash in hashes:
        receipt = w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=RECEIPT_TIMEOUT_S, poll_latency=0.1
        )
        if receipt["status"] != 1:
            raise PaymentFailed(f"transaction {tx_hash.to_0x_hex()} reverted")
        receipts.append(receipt)
    return receipts


def _payment(receipt: Any) -> Payment:
    return Payment(receipt["transactionHash"].to_0x_hex(), int(receipt["blockNumber"]))
