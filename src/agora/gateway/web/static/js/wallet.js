// "Pay with wallet": an ERC-20 transfer of the invoice's amount to its deposit address, sent by
// the shopper's EIP-1193 wallet (window.ethereum). Each step is told in an aria-live list.

const TRANSFER_SELECTOR = "a9059cbb"; // transfer(address,uint256)

/** A 32-byte ABI word of an address or a non-negative integer (as hex, no 0x). */
function word(hex) {
  return hex.replace(/^0x/, "").toLowerCase().padStart(64, "0");
}

/** Calldata of `transfer(to, amount)`; `amount` a decimal string of base units. */
export function transferData(to, amount) {
  return "0x" + TRANSFER_SELECTOR + word(to) + word(BigInt(amount).toString(16));
}

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => values[name] ?? "");
}

async function pay(box) {
  const button = box.querySelector("[data-pay-with-wallet]");
  const steps = box.querySelector("[data-wallet-steps]");
  const messages = JSON.parse(box.dataset.messages);
  const step = (key, values = {}) => {
    const item = document.createElement("li");
    item.textContent = fill(messages[key], values);
    steps.append(item);
  };
  const ethereum = window.ethereum;
  if (!ethereum || typeof ethereum.request !== "function") {
    step("noWallet");
    return;
  }
  button.disabled = true;
  try {
    step("connecting");
    const [account] = await ethereum.request({ method: "eth_requestAccounts" });
    step("connected", { account });
    const wanted = "0x" + BigInt(box.dataset.chainId).toString(16);
    const current = await ethereum.request({ method: "eth_chainId" });
    if (BigInt(current) !== BigInt(wanted)) {
      step("switching", { chain: box.dataset.chainId });
      await ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId: wanted }] });
    }
    step("confirm");
    const hash = await ethereum.request({
      method: "eth_sendTransaction",
      params: [{ from: account, to: box.dataset.token, value: "0x0", data: transferData(box.dataset.to, box.dataset.amount) }],
    });
    step("sent", { hash });
  } catch (error) {
    step("refused", { reason: error?.message || String(error) });
    button.disabled = false;
  }
}

// Delegated: the payment details may arrive later, swapped in by htmx.
document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-pay-with-wallet]");
  const box = button?.closest("[data-wallet]");
  if (box && !button.disabled) pay(box);
});
