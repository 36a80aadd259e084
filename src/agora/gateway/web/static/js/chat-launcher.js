// The chat button on every storefront page: the chat itself (chat.js) loads on the first press.
const root = document.querySelector("[data-chat]");
const button = root?.querySelector(".chat-launch");
let chat = null;

button?.addEventListener("click", async () => {
  if (chat === null) {
    button.setAttribute("aria-busy", "true");
    try {
      const module = await import(root.dataset.module);
      chat = module.mount(root);
    } finally {
      button.removeAttribute("aria-busy");
    }
  }
  chat.toggle();
});
