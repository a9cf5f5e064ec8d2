// The pod page's web terminal: xterm.js shows the shell's output, which arrives as
// server-sent events (base64 bytes); keystrokes, pastes and resizes go back as POSTs
// (resources/terminal.py says why it is not a WebSocket).
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("terminal");
  if (!box || !window.Terminal || !window.EventSource) return;
  const state = document.getElementById("terminal-state");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  const term = new window.Terminal({cursorBlink: true, convertEol: false, fontSize: 14, scrollback: 5000});
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  let session = null;
  let ended = false;
  let pending = "";
  let sending = false;

  const post = (message) => fetch(box.dataset.terminalInput, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
    body: JSON.stringify({id: session, ...message}),
  });
  // Keystrokes typed while a POST is under way go out together, in order.
  const flush = async () => {
    if (sending || !pending || !session || ended) return;
    sending = true;
    const data = pending;
    pending = "";
    try { await post({data}); } finally { sending = false; }
    flush();
  };
  const send = (data) => { pending += data; flush(); };
  const finish = (message, failed) => {
    if (ended) return;
    ended = true;
    source.close();
    state.textContent = message;
    state.classList.toggle("text-danger", !!failed);
    box.dataset.ended = "true";
    term.options.disableStdin = true;
  };
  const decoder = new TextDecoder();
  const source = new EventSource(box.dataset.terminalStream);
  source.addEventListener("ready", (event) => {
    session = event.data;
    state.textContent = state.dataset.connected;
    box.dataset.session = session;
    post({resize: [term.cols, term.rows]});
    term.focus();
    flush();
  });
  source.onmessage = (event) => {
    const bytes = Uint8Array.from(atob(event.data), (c) => c.charCodeAt(0));
    term.write(decoder.decode(bytes, {stream: true}));
  };
  source.addEventListener("failure", (event) => finish(event.data, true));
  source.addEventListener("end", (event) => finish(event.data, false));
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) finish(state.dataset.lost, true); };

  term.onData(send);
  term.onResize(({cols, rows}) => { if (session && !ended) post({resize: [cols, rows]}); });
  new ResizeObserver(() => fit.fit()).observe(box);

  const copy = () => { const text = term.getSelection(); if (text) navigator.clipboard.writeText(text); };
  const paste = async () => {
    try { term.paste(await navigator.clipboard.readText()); } catch (e) { state.textContent = state.dataset.pasteDenied; }
  };
  term.attachCustomKeyEventHandler((event) => {
    if (event.type !== "keydown" || !event.ctrlKey || !event.shiftKey) return true;
    if (event.code === "KeyC") { copy(); return false; }
    // Ctrl+Shift+V: the browser's own paste event follows, which xterm.js takes.
    if (event.code === "KeyV") return false;
    return true;
  });
  document.getElementById("terminal-copy").addEventListener("click", copy);
  document.getElementById("terminal-paste").addEventListener("click", paste);
  document.getElementById("terminal-close").addEventListener("click", () => {
    if (session && !ended) post({close: true});
    finish(state.dataset.closed, false);
  });
});
