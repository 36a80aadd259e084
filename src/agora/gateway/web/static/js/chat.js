// The support chat panel: one WebSocket to /v1/support/chat (proto JSON, one message per frame;
// README "Asking the support assistant"). A signed-in customer's socket rides on the session
// cookie and offers the session's CSRF token as the subprotocol `agora.csrf.<token>`; a guest
// names an order and its access token. The assistant's answer streams in as `delta`s; tool use
// shows as a status line and stays in the log.

const SUBPROTOCOL = "agora.v1";
const CONVERSATION_KEY = "agora.chat.conversation";

function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

function newId() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

class Chat {
  constructor(root) {
    this.root = root;
    this.button = root.querySelector(".chat-launch");
    this.panel = root.querySelector(".chat-panel");
    this.log = root.querySelector(".chat-log");
    this.status = root.querySelector(".chat-status");
    this.form = root.querySelector(".chat-form");
    this.input = root.querySelector("#chat-input");
    this.guestNote = root.querySelector(".chat-guest");
    this.texts = JSON.parse(document.getElementById("chat-texts")?.textContent || "{}");
    this.signedIn = root.dataset.signedIn === "true";
    const order = document.querySelector("[data-chat-order-id][data-chat-access-token]");
    this.orderId = order?.dataset.chatOrderId || "";
    this.accessToken = order?.dataset.chatAccessToken || "";
    this.socket = null;
    this.started = false;
    this.closed = false;
    this.resumed = false;
    this.startAfresh = false;
    this.outbox = [];

    this.root.querySelector(".chat-close").addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close();
      }
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send(this.input.value);
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send(this.input.value);
      }
    });
  }

  get canChat() {
    return this.signedIn || (this.orderId !== "" && this.accessToken !== "");
  }

  toggle() {
    if (this.panel.hidden) this.open();
    else this.close();
  }

  open() {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.guestNote.hidden = this.canChat;
    this.form.hidden = !this.canChat;
    if (!this.canChat) {
      this.guestNote.querySelector("a")?.focus();
      return;
    }
    this.input.focus();
    if (this.socket === null) this.connect();
  }

  close() {
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    this.button.focus();
  }

  connect() {
    this.started = false;
    this.closed = false;
    this.say(this.texts.connecting);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const protocols = [SUBPROTOCOL];
    if (this.signedIn && csrfToken()) protocols.push(`agora.csrf.${csrfToken()}`);
    const socket = new WebSocket(`${scheme}//${location.host}/v1/support/chat`, protocols);
    this.socket = socket;
    socket.addEventListener("open", () => socket.send(JSON.stringify({ start: this.startFrame() })));
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.startAfresh) {
        this.startAfresh = false;
        this.connect();
        return;
      }
      if (!this.closed) this.say(this.started ? this.texts.lost : this.texts.failed);
      this.started = false;
    });
  }

  startFrame() {
    if (!this.signedIn) return { orderId: this.orderId, accessToken: this.accessToken };
    const known = sessionStorage.getItem(CONVERSATION_KEY);
    this.resumed = Boolean(known);
    return known ? { conversationId: known } : {};
  }

  send(raw) {
    const text = raw.trim().slice(0, 4000);
    if (!text || this.closed) return;
    const clientMessageId = newId();
    const frame = { say: { clientMessageId, text } };
    this.input.value = "";
    this.add("customer", text, { clientId: clientMessageId });
    if (this.started && this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
    } else {
      this.outbox.push(frame);
      if (this.socket === null) this.connect();
    }
  }

  receive(frame) {
    if (frame.error) return this.failed(frame.error);
    if (frame.started) return this.begin(frame.conversationId, frame.started);
    if (frame.delta) return this.stream(frame.delta);
    if (frame.tool) return this.toolUsed(frame.tool);
    if (frame.confirmation) return this.confirm(frame.confirmation);
    if (frame.handover) return this.handover(frame.handover);
    if (frame.message) return this.message(frame.message);
    if (frame.notice) return this.say(frame.notice.code === "rate_limited" ? this.texts.rateLimited : frame.notice.text);
    return undefined;
  }

  failed(problem) {
    if (!this.started && this.resumed && problem.status === 404) {
      // The conversation we resumed is gone (closed and deleted): the server closes this
      // socket; the next one starts a new conversation.
      sessionStorage.removeItem(CONVERSATION_KEY);
      this.resumed = false;
      this.startAfresh = true;
      return;
    }
    this.say(problem.status === 429 ? this.texts.rateLimited : this.texts.failed);
  }

  begin(conversationId, started) {
    this.started = true;
    if (this.signedIn && conversationId) sessionStorage.setItem(CONVERSATION_KEY, conversationId);
    this.log.replaceChildren();
    for (const message of started.history || []) this.message(message);
    this.say("");
    if (started.handover === "HANDOVER_STATE_QUEUED") this.say(this.texts.queued);
    if (started.handover === "HANDOVER_STATE_CLOSED") return this.ended();
    for (const frame of this.outbox.splice(0)) {
      this.add("customer", frame.say.text, { clientId: frame.say.clientMessageId });
      this.socket.send(JSON.stringify(frame));
    }
    return undefined;
  }

  stream(delta) {
    let item = this.find(delta.messageId);
    if (!item) {
      item = this.add("assistant", "", { id: delta.messageId });
      item.setAttribute("aria-busy", "true");
    }
    item.querySelector(".chat-text").textContent += delta.text;
    this.say(this.texts.writing);
    this.scroll();
  }

  toolUsed(tool) {
    const text = this.texts.tools?.[tool.tool] || tool.text;
    this.say(text);
    const item = document.createElement("div");
    item.className = "chat-tool";
    item.dataset.tool = tool.tool;
    item.textContent = text;
    this.log.append(item);
    this.scroll();
  }

  confirm(confirmation) {
    const item = this.add("assistant", confirmation.text, {});
    const choices = document.createElement("div");
    choices.className = "chat-choices";
    for (const [label, answer] of [[this.texts.yes, "yes"], [this.texts.no, "no"]]) {
      const choice = document.createElement("button");
      choice.type = "button";
      choice.className = "secondary";
      choice.textContent = label;
      choice.addEventListener("click", () => {
        this.input.focus(); // the answered buttons go: focus stays in the chat
        choices.remove();
        this.send(answer);
      });
      choices.append(choice);
    }
    item.append(choices);
  }

  handover(change) {
    if (change.state === "HANDOVER_STATE_QUEUED") this.note(this.texts.queued);
    else if (change.state === "HANDOVER_STATE_STAFF") this.note(this.texts.staffJoined);
    else if (change.state === "HANDOVER_STATE_CLOSED") this.ended();
  }

  message(message) {
    const speaker = { SPEAKER_CUSTOMER: "customer", SPEAKER_STAFF: "staff" }[message.speaker] || "assistant";
    let item = this.find(message.id);
    if (!item && message.clientMessageId && speaker === "customer") {
      item = this.log.querySelector(`[data-client-id="${CSS.escape(message.clientMessageId)}"]`);
    }
    if (!item) item = this.add(speaker, message.text, { id: message.id });
    item.dataset.id = message.id;
    item.querySelector(".chat-text").textContent = message.text;
    item.removeAttribute("aria-busy");
    item.dataset.complete = "";
    if (speaker !== "customer") this.say("");
    this.scroll();
  }

  ended() {
    this.closed = true;
    sessionStorage.removeItem(CONVERSATION_KEY);
    this.note(this.texts.closed);
    this.form.hidden = true;
    this.socket?.close(1000);
  }

  find(id) {
    return id ? this.log.querySelector(`[data-id="${CSS.escape(id)}"]`) : null;
  }

  add(speaker, text, { id = "", clientId = "" }) {
    const item = document.createElement("div");
    item.className = `chat-msg ${speaker}`;
    if (id) item.dataset.id = id;
    if (clientId) item.dataset.clientId = clientId;
    const who = document.createElement("span");
    who.className = "chat-who";
    who.textContent = { customer: this.texts.you, staff: this.texts.staff }[speaker] || this.texts.assistant;
    const body = document.createElement("span");
    body.className = "chat-text";
    body.textContent = text;
    item.append(who, body);
    this.log.append(item);
    this.scroll();
    return item;
  }

  note(text) {
    const item = document.createElement("div");
    item.className = "chat-note";
    item.textContent = text;
    this.log.append(item);
    this.scroll();
  }

  say(text) {
    this.status.textContent = text || "";
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }
}

/** The chat of `root` (the `[data-chat]` element of the layout). */
export function mount(root) {
  return new Chat(root);
}
