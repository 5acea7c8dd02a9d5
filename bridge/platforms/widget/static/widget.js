/*
 * Support chat widget: one self-contained script, no dependencies, no build step.
 *
 *   <script src="https://HOST/widget/widget.js" async></script>
 *
 * Optional attributes: data-open (open the panel at load), data-title (heading, default "Support"),
 * data-identity (the signed-in customer, signed by the shop's server; docs/widget-protocol.md).
 * Single-page shops sign in and out without a reload: SupportWidget.identify(token), .logout().
 * Accent colour: set --support-widget-accent (and --support-widget-accent-text) on the page.
 * Wire protocol: docs/widget-protocol.md.
 */
(() => {
  "use strict";

  if (window.__supportWidgetLoaded) return; // embedded twice: keep the first
  window.__supportWidgetLoaded = true;

  const SCRIPT_PATH = "/widget/widget.js";
  const MAX_TEXT_CHARS = 2000;
  const MAX_FRAME_BYTES = 8 * 1024;
  const MAX_FILE_BYTES = 10 * 1024 * 1024;
  const BACKOFF_MAX_MS = 30000;
  const WELCOME_TIMEOUT_MS = 15000;
  const HISTORY_TIMEOUT_MS = 3000;
  const RATE_LIMIT_RETRY_MS = 5000;
  // Errors after which the same message is sent again (docs/widget-protocol.md, "Errors").
  const RETRY_CODES = new Set(["rate_limited", "unavailable", "session_ended"]);
  const ROLES = ["customer", "bot", "staff", "system"];

  // --- where we were loaded from -----------------------------------------------------------

  const isWidgetSrc = (src) => {
    try {
      return new URL(src, location.href).pathname.endsWith(SCRIPT_PATH);
    } catch {
      return false;
    }
  };

  const findScript = () => {
    const current = document.currentScript;
    if (current && current.src) return current;
    // currentScript can be null (e.g. when run from a callback or by some loaders); fall back to
    // the last script tag that looks like ours.
    const scripts = document.querySelectorAll("script[src]");
    for (let i = scripts.length - 1; i >= 0; i--) {
      if (isWidgetSrc(scripts[i].src)) return scripts[i];
    }
    return null;
  };

  const script = findScript();
  const scriptUrl = new URL(script ? script.src : SCRIPT_PATH, location.href);
  const bridgeOrigin = scriptUrl.origin;
  // Resolve relative to the script so a bridge mounted under a path prefix still works;
  // for the usual /widget/widget.js this is exactly <origin>/widget/ws.
  const wsUrl = (() => {
    const u = new URL("ws", scriptUrl);
    u.protocol = scriptUrl.protocol === "https:" ? "wss:" : "ws:";
    u.search = "";
    u.hash = "";
    return u.href;
  })();
  const openAtLoad = !!script && script.hasAttribute("data-open") &&
    script.getAttribute("data-open") !== "false";
  const title = (script && script.getAttribute("data-title")) || "Support";
  // Who is signed in on the shop's page: a token its server signed, or null for a guest.
  let identity = (script && script.getAttribute("data-identity")) || null;

  // --- small helpers -----------------------------------------------------------------------

  const TOKEN_KEY = `support-widget:${bridgeOrigin}:token`;
  const loadToken = () => {
    try {
      return localStorage.getItem(TOKEN_KEY);
    } catch {
      return null; // storage disabled: every page load is a new visitor
    }
  };
  const saveToken = (token) => {
    try {
      localStorage.setItem(TOKEN_KEY, token);
    } catch { /* ignore */ }
  };
  const dropToken = () => {
    try {
      localStorage.removeItem(TOKEN_KEY);
    } catch { /* ignore */ }
  };

  const uuid = () => {
    if (window.crypto && typeof crypto.randomUUID === "function") {
      try {
        return crypto.randomUUID(); // secure contexts only
      } catch { /* fall through */ }
    }
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  // Redis stream ids "<ms>-<seq>": compare numerically, part by part.
  const compareIds = (a, b) => {
    const pa = String(a).split("-");
    const pb = String(b).split("-");
    for (let i = 0; i < 2; i++) {
      const x = Number(pa[i] || 0);
      const y = Number(pb[i] || 0);
      if (Number.isNaN(x) || Number.isNaN(y)) return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };

  // Characters as the server counts them (code points, not UTF-16 units).
  const charCount = (s) => {
    let n = 0;
    for (const _ of s) n++;
    return n;
  };
  const byteLength = (s) => new TextEncoder().encode(s).length;

  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text != null) node.textContent = text;
    return node;
  };

  // --- view --------------------------------------------------------------------------------

  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    .root {
      --accent: var(--support-widget-accent, #2563eb);
      --accent-text: var(--support-widget-accent-text, #ffffff);
      --bg: #ffffff; --fg: #1f2328; --muted: #6b7280; --line: #e5e7eb;
      --bubble: #f1f3f5; --staff: #eef3ff; --danger: #b42318; --danger-bg: #fef3f2;
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
      color: var(--fg);
    }
    button { font: inherit; cursor: pointer; }
    button:focus-visible, textarea:focus-visible {
      outline: 2px solid var(--accent); outline-offset: 2px;
    }
    .launcher {
      position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
      width: 56px; height: 56px; border-radius: 50%; border: 0; padding: 0;
      background: var(--accent); color: var(--accent-text);
      box-shadow: 0 4px 14px rgba(0,0,0,.22);
      display: flex; align-items: center; justify-content: center;
    }
    .launcher svg { width: 26px; height: 26px; }
    .launcher .icon-close { display: none; }
    .launcher[aria-expanded="true"] .icon-open { display: none; }
    .launcher[aria-expanded="true"] .icon-close { display: block; }
    .badge {
      position: absolute; top: -2px; right: -2px; min-width: 20px; height: 20px; padding: 0 5px;
      border-radius: 10px; background: var(--danger); color: #fff; font-size: 12px; line-height: 20px;
      text-align: center; font-weight: 600;
    }
    .panel {
      position: fixed; right: 20px; bottom: 88px; z-index: 2147483000;
      width: 360px; max-width: calc(100vw - 40px);
      height: 540px; max-height: calc(100vh - 108px);
      display: flex; flex-direction: column; overflow: hidden;
      background: var(--bg); border: 1px solid var(--line); border-radius: 14px;
      box-shadow: 0 12px 40px rgba(0,0,0,.18);
    }
    header {
      display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px;
      background: var(--accent); color: var(--accent-text);
    }
    h2 { margin: 0; font-size: 16px; font-weight: 600; flex: 1; min-width: 0;
         overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .status { font-size: 12px; opacity: .9; display: flex; align-items: center; gap: 5px; }
    .status::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #fbbf24; }
    .status[data-state="online"]::before { background: #22c55e; }
    .status[data-state="offline"]::before { background: #9ca3af; }
    .close {
      border: 0; background: transparent; color: inherit; width: 32px; height: 32px;
      border-radius: 8px; font-size: 22px; line-height: 1; padding: 0;
    }
    .close:hover { background: rgba(255,255,255,.15); }
    .list {
      flex: 1; overflow-y: auto; padding: 14px 12px; display: flex; flex-direction: column; gap: 8px;
      overscroll-behavior: contain;
    }
    .list:empty::before {
      content: "Ask us anything. Type your message below to start.";
      color: var(--muted); text-align: center; margin: auto 16px;
    }
    .msg { max-width: 82%; display: flex; flex-direction: column; gap: 6px; }
    .bubble {
      padding: 8px 12px; border-radius: 14px; background: var(--bubble);
      white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word;
    }
    .author { font-size: 12px; color: var(--muted); margin: 0 4px -3px; }
    .msg[data-role="customer"] { align-self: flex-end; align-items: flex-end; }
    .msg[data-role="customer"] .bubble {
      background: var(--accent); color: var(--accent-text); border-bottom-right-radius: 4px;
    }
    .msg[data-role="bot"], .msg[data-role="staff"] { align-self: flex-start; }
    .msg[data-role="bot"] .bubble { border-bottom-left-radius: 4px; }
    .msg[data-role="staff"] .bubble {
      background: var(--staff); border-bottom-left-radius: 4px; box-shadow: inset 3px 0 0 var(--accent);
    }
    .msg[data-role="system"] { align-self: center; max-width: 92%; }
    .msg[data-role="system"] .bubble {
      background: transparent; color: var(--muted); font-size: 12.5px; font-style: italic;
      text-align: center; padding: 2px 8px;
    }
    .msg[data-status="pending"] .bubble { opacity: .6; }
    .msg[data-status="failed"] .bubble { background: var(--danger-bg); color: var(--danger);
      box-shadow: inset 0 0 0 1px var(--danger); }
    .note { font-size: 11.5px; color: var(--muted); margin: -3px 4px 0; }
    .msg[data-status="failed"] .note { color: var(--danger); }
    .bubble:empty { display: none; }
    .file { color: var(--accent); overflow-wrap: anywhere; }
    .file img { display: block; max-width: 220px; max-height: 220px; border-radius: 10px; border: 1px solid var(--line); }
    .chips { display: flex; flex-wrap: wrap; gap: 6px; }
    .chip {
      border: 1px solid var(--accent); color: var(--accent); background: var(--bg);
      border-radius: 999px; padding: 5px 12px; font-size: 13px;
    }
    .chip:hover { background: var(--accent); color: var(--accent-text); }
    .error {
      margin: 0 12px 8px; padding: 8px 10px; border-radius: 8px; font-size: 13px;
      background: var(--danger-bg); color: var(--danger); border: 1px solid #fecdca;
      display: flex; gap: 8px; align-items: flex-start;
    }
    .error-text { flex: 1; white-space: pre-wrap; overflow-wrap: anywhere; }
    .error-close { border: 0; background: transparent; color: inherit; padding: 0 2px; font-size: 16px; line-height: 1; }
    form { display: flex; gap: 8px; padding: 10px 12px 12px; border-top: 1px solid var(--line); align-items: flex-end; }
    textarea {
      flex: 1; resize: none; font: inherit; color: var(--fg); background: var(--bg);
      border: 1px solid var(--line); border-radius: 10px; padding: 8px 10px;
      min-height: 38px; max-height: 120px; line-height: 1.4;
    }
    .attach {
      border: 1px solid var(--line); border-radius: 10px; background: var(--bg); color: var(--fg);
      height: 38px; width: 38px; padding: 0; flex: none;
    }
    .attach:disabled { opacity: .5; cursor: progress; }
    .send {
      border: 0; border-radius: 10px; background: var(--accent); color: var(--accent-text);
      height: 38px; padding: 0 14px; font-weight: 600;
    }
    @media (max-width: 480px) {
      .panel { right: 0; bottom: 0; width: 100vw; max-width: 100vw; height: 100%; max-height: 100%; border-radius: 0; border: 0; }
      .launcher[aria-expanded="true"] { display: none; }
    }
    @media (prefers-reduced-motion: no-preference) {
      .panel { animation: pop .14s ease-out; }
      @keyframes pop { from { opacity: 0; transform: translateY(8px); } }
    }
  `;

  // Static markup only; message text never goes through innerHTML.
  const SHELL = `
    <div class="root">
      <button type="button" class="launcher" data-testid="chat-launcher" aria-label="Open support chat"
              aria-expanded="false" aria-controls="panel">
        <svg class="icon-open" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"
             stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
          <path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/></svg>
        <svg class="icon-close" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2"
             stroke-linecap="round" aria-hidden="true" focusable="false">
          <path d="M6 6l12 12M18 6L6 18"/></svg>
        <span class="badge" aria-hidden="true" hidden></span>
      </button>
      <section class="panel" id="panel" role="region" data-testid="chat-panel" hidden>
        <header>
          <h2 class="title"></h2>
          <span class="status" data-testid="chat-status" data-state="connecting">Connecting…</span>
          <button type="button" class="close" aria-label="Close chat">&times;</button>
        </header>
        <div class="list" data-testid="chat-messages" role="log" aria-live="polite" aria-relevant="additions"></div>
        <div class="error" hidden>
          <span class="error-text" data-testid="chat-error" role="alert" hidden></span>
          <button type="button" class="error-close" aria-label="Dismiss error">&times;</button>
        </div>
        <form novalidate>
          <button type="button" class="attach" data-testid="chat-attach" aria-label="Attach a photo or file">📎</button>
          <input type="file" class="file-input" data-testid="chat-file-input" hidden tabindex="-1">
          <textarea data-testid="chat-input" rows="1" dir="auto" aria-label="Message" placeholder="Type a message…"
                    autocomplete="off"></textarea>
          <button type="submit" class="send" data-testid="chat-send" aria-label="Send message">Send</button>
        </form>
      </section>
    </div>`;

  // Inline `all: initial` beats the page's own rules (even `* {...!important}`), so nothing the
  // page sets is inherited into the shadow tree. Custom properties are exempt from `all`, which is
  // what lets the page set --support-widget-accent.
  const host = el("div", { id: "support-widget", "data-testid": "chat-root", style: "all: initial !important" });
  const shadow = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = CSS;
  shadow.appendChild(style);
  const tpl = document.createElement("template");
  tpl.innerHTML = SHELL;
  shadow.appendChild(tpl.content);

  const $ = (sel) => shadow.querySelector(sel);
  const launcher = $(".launcher");
  const badge = $(".badge");
  const panel = $(".panel");
  const statusEl = $(".status");
  const list = $(".list");
  const errorBox = $(".error");
  const errorText = $(".error-text");
  const form = $("form");
  const input = $("textarea");
  $(".title").textContent = title;
  panel.setAttribute("aria-label", `${title} chat`);

  // --- state -------------------------------------------------------------------------------

  let ws = null;
  let connectionSeq = 0; // bumps on every new socket
  let ready = false; // welcome received on the current socket
  let attempt = 0;
  let retryTimer = null;
  let welcomeTimer = null;
  let historyTimer = null;
  let sentToken = null; // the token this socket's hello carried
  let conversationId = null;
  let lastId = null; // highest Message id received (what `since` reports)
  let unread = 0;
  let askedPermission = false;
  let sessionToken = null; // from the last welcome; authorises uploads
  const drawn = new Map(); // Message id -> element
  const pending = new Map(); // client_msg_id -> {node, frame, sentOn}

  // --- panel -------------------------------------------------------------------------------

  const isOpen = () => !panel.hidden;

  const setOpen = (open, { focus = true } = {}) => {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? "Close support chat" : "Open support chat");
    if (open) {
      unread = 0;
      badge.hidden = true;
      scrollToEnd();
      if (focus) input.focus({ preventScroll: true });
    }
  };

  launcher.addEventListener("click", () => setOpen(!isOpen()));
  $(".close").addEventListener("click", () => {
    setOpen(false);
    launcher.focus();
  });
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      setOpen(false);
      launcher.focus();
    }
  });
  $(".error-close").addEventListener("click", () => clearError());

  const nearEnd = () => list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  const scrollToEnd = () => {
    list.scrollTop = list.scrollHeight;
  };

  const setConnState = (state) => {
    statusEl.dataset.state = state;
    statusEl.textContent = { connecting: "Connecting…", online: "Online", offline: "Offline" }[state];
  };

  const showError = (code, message) => {
    errorText.dataset.code = code || "";
    errorText.textContent = message || "Something went wrong.";
    errorText.hidden = false;
    errorBox.hidden = false;
  };
  const clearError = () => {
    errorBox.hidden = true;
    errorText.hidden = true;
    errorText.textContent = "";
    delete errorText.dataset.code;
  };

  // --- drawing messages --------------------------------------------------------------------

  const authorLabel = (m) => {
    if (m.role === "staff") return m.author ? `${m.author} (staff)` : "Staff";
    return "";
  };

  const renderMessage = (m, status) => {
    const role = ROLES.includes(m.role) ? m.role : "system";
    const node = el("div", { class: "msg", "data-testid": "chat-message", "data-role": role, "data-status": status });
    if (m.id) node.dataset.id = m.id;
    if (m.client_msg_id) node.dataset.clientMsgId = m.client_msg_id;
    const label = authorLabel({ ...m, role });
    if (label) node.appendChild(el("div", { class: "author" }, label));
    // dir=auto: Arabic, Persian or Hebrew reads right to left, in the customer's words and ours.
    const bubble = el("div", { class: "bubble", dir: "auto" }, typeof m.text === "string" ? m.text : "");
    if (typeof m.ts === "number" && m.ts > 0) bubble.title = new Date(m.ts).toLocaleString();
    node.appendChild(bubble);
    const file = m.file && typeof m.file.url === "string" ? m.file : null;
    if (file) node.appendChild(renderFile(file));
    if (m.edited === true) node.appendChild(el("div", { class: "note" }, "edited"));
    const buttons = Array.isArray(m.buttons) ? m.buttons.filter((b) => b && typeof b.title === "string" && b.title) : [];
    if (buttons.length && role !== "customer") {
      const chips = el("div", { class: "chips", role: "group", "aria-label": "Quick replies" });
      for (const b of buttons) {
        const chip = el("button", { type: "button", class: "chip", "data-testid": "chat-quick-reply" }, b.title);
        chip.addEventListener("click", () => {
          send(b.title, typeof b.payload === "string" && b.payload ? b.payload : undefined);
        });
        chips.appendChild(chip);
      }
      node.appendChild(chips);
    }
    return node;
  };

  // A photo or file in the conversation: images inline, anything else as a download link.
  const renderFile = (file) => {
    const href = new URL(file.url, bridgeOrigin + "/").href;
    const name = typeof file.name === "string" && file.name ? file.name : "file";
    const link = el("a", { class: "file", href, target: "_blank", rel: "noopener", "data-testid": "chat-file" });
    if (typeof file.type === "string" && file.type.startsWith("image/")) {
      link.appendChild(el("img", { src: href, alt: name, loading: "lazy" }));
    } else {
      link.textContent = `📎 ${name}`;
      link.setAttribute("download", name);
    }
    return link;
  };

  const setNote = (node, text) => {
    let note = node.querySelector(".note");
    if (!text) {
      if (note) note.remove();
      return;
    }
    if (!note) node.appendChild((note = el("div", { class: "note" })));
    note.textContent = text;
  };

  // Keep messages with ids in id order; pending ones (no id yet) stay at the end, and a failed
  // one (never gets an id) keeps its place in time.
  const place = (node) => {
    const id = node.dataset.id;
    if (!id) {
      list.appendChild(node);
      return;
    }
    for (let c = list.lastElementChild; c; c = c.previousElementSibling) {
      if (c === node || c.dataset.status === "pending") continue;
      if (!c.dataset.id || compareIds(c.dataset.id, id) <= 0) {
        c.after(node);
        return;
      }
    }
    list.prepend(node);
  };

  // Quick replies are answers to the latest question: once the customer writes something, the
  // chips above it go away.
  const retireChipsBefore = (node) => {
    for (let c = node.previousElementSibling; c; c = c.previousElementSibling) {
      const chips = c.querySelector(".chips");
      if (chips) chips.remove();
    }
  };

  const receive = (m, live) => {
    if (!m || typeof m !== "object" || typeof m.id !== "string" || !m.id) return;
    if (lastId === null || compareIds(m.id, lastId) > 0) lastId = m.id;
    if (drawn.has(m.id)) {
      // Our own upload, acknowledged before its echo: draw the photo the echo carries.
      const old = drawn.get(m.id);
      if (m.file && !old.querySelector(".file")) {
        const fresh = renderMessage(m, "sent");
        old.replaceWith(fresh);
        drawn.set(m.id, fresh);
      }
      return;
    }
    const stick = nearEnd();
    let node;
    const p = m.client_msg_id ? pending.get(m.client_msg_id) : undefined;
    if (p) {
      // Our own pending message, echoed (or found in history) before its ack.
      pending.delete(m.client_msg_id);
      node = p.node;
      node.dataset.id = m.id;
      node.dataset.status = "sent";
      setNote(node, "");
      if (m.file) {
        const fresh = renderMessage(m, "sent");
        node.replaceWith(fresh);
        node = fresh;
      }
    } else {
      node = renderMessage(m, "sent");
    }
    drawn.set(m.id, node);
    place(node);
    if (node.dataset.role === "customer") retireChipsBefore(node);
    if (stick || node.dataset.role === "customer") scrollToEnd();
    if (live && m.role !== "customer") {
      if (!isOpen()) {
        unread++;
        badge.textContent = unread > 9 ? "9+" : String(unread);
        badge.hidden = false;
      }
      if (m.role === "staff") notify(m);
    }
  };

  const onAck = (clientMsgId, id) => {
    const p = pending.get(clientMsgId);
    if (!p || typeof id !== "string" || !id) return;
    pending.delete(clientMsgId);
    if (drawn.has(id)) {
      // Echo already drawn (e.g. from another path): drop the duplicate pending bubble.
      p.node.remove();
      return;
    }
    p.node.dataset.id = id;
    p.node.dataset.status = "sent";
    setNote(p.node, "");
    drawn.set(id, p.node);
    place(p.node);
    // lastId is deliberately not advanced by acks: only Messages we received move `since`, so a
    // reconnect can never skip a message that was stored just before ours.
  };

  const resetTranscript = () => {
    for (const node of drawn.values()) node.remove();
    drawn.clear();
    lastId = null;
  };

  // --- notifications -----------------------------------------------------------------------

  const notify = (m) => {
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const n = new Notification(m.author ? `${m.author} (${title})` : title, {
        body: String(m.text || "").slice(0, 200),
        tag: `support-widget:${bridgeOrigin}`,
      });
      n.onclick = () => {
        window.focus();
        setOpen(true);
        n.close();
      };
    } catch { /* e.g. mobile browsers that only allow service-worker notifications */ }
  };

  const maybeAskPermission = () => {
    if (askedPermission || !("Notification" in window) || Notification.permission !== "default") return;
    askedPermission = true;
    try {
      const r = Notification.requestPermission();
      if (r && typeof r.catch === "function") r.catch(() => {});
    } catch { /* ignore */ }
  };

  // --- sending -----------------------------------------------------------------------------

  const transmit = (p) => {
    if (!ws || !ready || ws.readyState !== WebSocket.OPEN) return;
    try {
      ws.send(JSON.stringify(p.frame));
      p.sentOn = connectionSeq;
    } catch { /* the close handler reconnects; it stays pending */ }
  };

  const flush = () => {
    clearTimeout(historyTimer);
    for (const p of pending.values()) if (p.sentOn !== connectionSeq) transmit(p);
  };

  // Returns true when the message was accepted for sending (it may still be pending).
  const send = (text, payload, fileId) => {
    const chars = charCount(text);
    if (chars === 0) return false;
    if (chars > MAX_TEXT_CHARS) {
      showError("too_large", `Your message is too long (${chars} characters). The limit is ${MAX_TEXT_CHARS}.`);
      return false;
    }
    const frame = { type: "message", text, client_msg_id: uuid() };
    if (payload !== undefined) frame.payload = payload;
    if (fileId !== undefined) frame.file = fileId;
    if (byteLength(JSON.stringify(frame)) > MAX_FRAME_BYTES) {
      showError("too_large", "Your message is too long. Please shorten it.");
      return false;
    }
    clearError();
    const node = renderMessage({ role: "customer", text, client_msg_id: frame.client_msg_id }, "pending");
    const p = { node, frame, sentOn: null };
    pending.set(frame.client_msg_id, p);
    if (statusEl.dataset.state === "offline") setNote(node, "Will send when back online");
    place(node);
    retireChipsBefore(node);
    scrollToEnd();
    transmit(p);
    maybeAskPermission();
    return true;
  };

  const sendFromInput = () => {
    const text = input.value.trim();
    if (!text) return;
    if (send(text)) {
      input.value = "";
      autosize();
    }
    input.focus();
  };

  // --- files -------------------------------------------------------------------------------

  const attachButton = $(".attach");
  const fileInput = $(".file-input");
  attachButton.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      showError("too_large", `That file is too large. The limit is ${MAX_FILE_BYTES / 1048576} MB.`);
      return;
    }
    if (!ready || !sessionToken) {
      showError("offline", "Please wait until the chat is connected, then attach the file again.");
      return;
    }
    attachButton.disabled = true;
    try {
      const url = new URL(`upload?name=${encodeURIComponent(file.name)}`, scriptUrl);
      const res = await fetch(url.href, {
        method: "POST",
        headers: { Authorization: `Bearer ${sessionToken}`, "Content-Type": file.type || "application/octet-stream" },
        body: file,
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok || typeof body.file_id !== "string") {
        showError(body.error || "upload_failed", body.message || "The file could not be sent. Please try again.");
        return;
      }
      const label = (file.type || "").startsWith("image/") ? "📷 Photo" : `📎 ${file.name}`;
      const caption = input.value.trim();
      if (send(caption ? `${label}: ${caption}` : label, undefined, body.file_id)) {
        input.value = "";
        autosize();
      }
    } catch {
      showError("upload_failed", "The file could not be sent. Please try again.");
    } finally {
      attachButton.disabled = false;
    }
  });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    sendFromInput();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendFromInput();
    }
  });
  const autosize = () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 120)}px`;
  };
  input.addEventListener("input", autosize);

  // --- connection --------------------------------------------------------------------------

  const handleFrame = (f) => {
    switch (f.type) {
      case "welcome":
        clearTimeout(welcomeTimer);
        if (typeof f.token === "string" && f.token) saveToken((sessionToken = f.token));
        if (conversationId !== null && f.conversation_id !== conversationId) resetTranscript();
        conversationId = f.conversation_id ?? null;
        ready = true;
        attempt = 0;
        setConnState("online");
        for (const p of pending.values()) setNote(p.node, "");
        // Pending messages go out after the history (which may already contain some of them);
        // don't wait forever if a history frame never comes.
        historyTimer = setTimeout(flush, HISTORY_TIMEOUT_MS);
        break;
      case "history":
        if (Array.isArray(f.messages)) for (const m of f.messages) receive(m, false);
        scrollToEnd();
        flush();
        break;
      case "message":
        receive(f, true);
        break;
      case "ack":
        onAck(f.client_msg_id, f.id);
        break;
      case "update": {
        // A staff member corrected a message: show the new words, marked as edited.
        const node = drawn.get(f.id);
        if (node && typeof f.text === "string") {
          node.querySelector(".bubble").textContent = f.text;
          setNote(node, "edited");
        }
        break;
      }
      case "delete": {
        const node = drawn.get(f.id);
        if (node) {
          node.remove();
          drawn.delete(f.id);
        }
        break;
      }
      case "error": {
        if (f.code === "bad_token" && sentToken !== null && loadToken() === sentToken) dropToken();
        const p = f.client_msg_id ? pending.get(f.client_msg_id) : undefined;
        if (p) {
          if (RETRY_CODES.has(f.code)) {
            p.sentOn = null; // "wait and send again", as long as the bridge asked
            const wait = typeof f.retry_after === "number" ? f.retry_after * 1000 : RATE_LIMIT_RETRY_MS;
            setTimeout(() => { if (pending.get(f.client_msg_id) === p) transmit(p); }, Math.max(wait, 200));
          } else {
            pending.delete(f.client_msg_id);
            p.node.dataset.status = "failed";
            setNote(p.node, "Not sent");
          }
        }
        showError(f.code, typeof f.message === "string" && f.message ? f.message : `Error: ${f.code}`);
        break;
      }
      default:
        break; // unknown frame types are ignored (forward compatibility)
    }
  };

  const scheduleReconnect = () => {
    clearTimeout(retryTimer);
    const delay = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** attempt);
    attempt = Math.min(attempt + 1, 10);
    retryTimer = setTimeout(connect, delay);
  };

  const goOffline = () => {
    ws = null;
    ready = false;
    clearTimeout(welcomeTimer);
    clearTimeout(historyTimer);
    setConnState("offline");
    for (const p of pending.values()) setNote(p.node, "Will send when back online");
    scheduleReconnect();
  };

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    setConnState("connecting");
    let sock;
    try {
      sock = new WebSocket(wsUrl);
    } catch {
      goOffline();
      return;
    }
    ws = sock;
    ready = false;
    connectionSeq++;
    clearTimeout(welcomeTimer);
    welcomeTimer = setTimeout(() => { if (ws === sock) sock.close(); }, WELCOME_TIMEOUT_MS);
    sock.onopen = () => {
      if (ws !== sock) return;
      sentToken = loadToken();
      // `since`: null on a fresh page (nothing drawn → whole history), else the last id we got.
      sock.send(JSON.stringify({ type: "hello", token: sentToken, since: lastId, identity }));
    };
    sock.onmessage = (ev) => {
      if (ws !== sock || typeof ev.data !== "string") return;
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (f && typeof f === "object" && typeof f.type === "string") handleFrame(f);
    };
    sock.onclose = () => {
      if (ws === sock) goOffline();
    };
    sock.onerror = () => { /* a close event follows */ };
  }

  // Back online according to the browser: don't sit out the rest of a long back-off.
  window.addEventListener("online", () => {
    if (!ws) {
      attempt = 0;
      connect();
    }
  });

  // --- the page's sign-in --------------------------------------------------------------------

  // identify(token): the customer signed in; logout(): they signed out, and the chat starts
  // afresh (the bridge never shows a signed-in conversation to whoever uses the page next).
  const identify = (token) => {
    identity = typeof token === "string" && token ? token : null;
    if (ws && ready) ws.send(JSON.stringify({ type: "identify", identity }));
  };
  window.SupportWidget = Object.freeze({ identify, logout: () => identify(null) });
  window.dispatchEvent(new Event("supportwidget:ready"));

  // --- start -------------------------------------------------------------------------------

  const start = () => {
    document.body.appendChild(host);
    // data-open at load shows the panel without pulling focus away from the host page.
    if (openAtLoad) setOpen(true, { focus: false });
    connect();
  };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
