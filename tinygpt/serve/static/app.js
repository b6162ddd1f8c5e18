/* The playground's shared ground and wiring: the page state, small helpers to make elements and show text, the
   decoding controls (limits and defaults from GET /api/info), messages and errors naming the field, the reader of
   server-sent events (fetch and a stream reader, because the requests are POSTs), one request at a time, and
   `init`, which ties every control to its behaviour. The other scripts, loaded after this one, hold the rest:
   generate.js (the streamed output), verify.js, inspect.js (tooltip, explainer, tabs, sequences), attention.js and
   cache.js.

   Safety rule of every script: text from the model or the user only ever reaches the page through textContent or
   createTextNode. Nothing compiles HTML, so generated code is shown, never run. */
"use strict";

const $ = (id) => document.getElementById(id);
const clientId = Math.random().toString(36).slice(2) + Date.now().toString(36);
const state = {
  info: null, // GET /api/info
  promptIds: [], // the prompt's token ids as the model reads it, from `start`
  tokens: [], // the `token` events of the current generation, by index
  pieces: [], // beam search or several sequences: the text of each token of the sequence shown (no trace)
  allTokens: null, // ids the model saw (prompt + generated), for the attention view
  controller: null, // AbortController of the running request
  selectedStep: null,
  attention: null, // {tokens, n_layer, n_head, length, maps: [[Uint8Array]]}
  layer: 0, head: "all", query: null,
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function option(value) {
  const node = element("option", "", value);
  node.value = String(value);
  return node;
}

/* A token as a readable label: the text itself, with its whitespace made visible (· space, ↵ newline, ⇥ tab). */
function tokenLabel(text) {
  if (text === "") return "(empty)";
  return text.replace(/ /g, "·").replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

function percent(prob) {
  return prob >= 0.1 ? `${(prob * 100).toFixed(1)}%` : `${(prob * 100).toFixed(2)}%`;
}

/* Probability to colour: red (0) through yellow (0.5) to green (1), as in the legend. */
function probColour(prob) {
  return `hsl(${Math.round(120 * Math.min(1, Math.max(0, prob)))}, 80%, 78%)`;
}

/* Writes `text` into `node` as text, with an empty marker span before each newline (CSS draws it as ↵). */
function fillTokenText(node, text) {
  text.split("\n").forEach((part, i) => {
    if (i > 0) {
      node.appendChild(element("span", "nl"));
      node.appendChild(document.createTextNode("\n"));
    }
    if (part) node.appendChild(document.createTextNode(part));
  });
}

/* Writes code into `node` with every space, tab and newline visible (muted ·, ⇥ and ↵; the newline itself is kept),
   so that text made only of whitespace does not look empty. */
function fillVisibleText(node, text) {
  if (text === "") {
    node.appendChild(element("span", "ws", "(nothing yet)"));
    return;
  }
  for (const part of text.split(/( +|\t|\n)/)) {
    if (part === "") continue;
    if (part === "\n") node.append(element("span", "ws", "↵"), document.createTextNode("\n"));
    else if (part === "\t") node.appendChild(element("span", "ws", "⇥"));
    else if (part[0] === " ") node.appendChild(element("span", "ws", "·".repeat(part.length)));
    else node.appendChild(document.createTextNode(part));
  }
}

/* ---------- settings ---------- */

function unescapeLine(text) {
  return text.replace(/\\([nt\\])/g, (_, c) => ({ n: "\n", t: "\t", "\\": "\\" })[c]);
}

/* One control's value for the request: null when empty (= not given); a number when it reads as one, else the text
   as typed, so that the server's 422 names the field. */
function controlValue(input) {
  const kind = input.dataset.type;
  if (kind === "bool") return input.checked;
  if (kind === "lines") return input.value.split("\n").filter((line) => line !== "").map(unescapeLine);
  const text = input.value.trim();
  if (text === "") return null;
  if (kind === "choice") return { true: true, false: false }[text] ?? text;
  const number = Number(text);
  return Number.isFinite(number) ? number : text;
}

function readSettings() {
  const body = { prompt: $("prompt").value, strategy: $("strategy").value, client_id: clientId };
  for (const input of $("controls").querySelectorAll("[data-type]")) {
    const value = input.matches(":disabled") ? null : controlValue(input);
    if (value !== null) body[input.name] = value; // left out = not given
  }
  return body;
}

const OFF = { top_k: 0, top_p: 1, min_p: 0, repetition_penalty: 1, no_repeat_ngram_size: 0 }; // "off" values

/* Controls that do not apply to the chosen strategy are disabled (their fieldset names the strategies); the others
   show as placeholder what an empty field means for this strategy (/api/info's strategy_defaults). */
function applyStrategy() {
  const strategy = $("strategy").value;
  for (const fieldset of document.querySelectorAll("fieldset[data-strategies]")) {
    fieldset.disabled = !fieldset.dataset.strategies.split(" ").includes(strategy);
  }
  const defaults = state.info?.strategy_defaults?.[strategy] || {};
  for (const input of $("controls").querySelectorAll("input[data-type=int], input[data-type=float]")) {
    const value = defaults[input.name];
    input.placeholder = input.matches(":disabled") || value === undefined ? "" :
      value === null ? "random" : `${value}${OFF[input.name] === value ? " (off)" : ""}`;
  }
  if ("early_stopping" in defaults) $("early_stopping").options[0].textContent = `default (${defaults.early_stopping})`;
  setBusy(state.controller !== null);
}

function showInfo(info) {
  const m = info.model;
  $("model-info").textContent = `${m.name} · ${m.n_layer} layers × ${m.n_head} heads · n_embd ${m.n_embd} · ` +
    `context ${m.block_size} · vocabulary ${m.vocab_size} · ${Number(m.parameters).toLocaleString("en")} parameters`;
  const l = info.limits;
  $("limits").textContent = `Limits: prompt ≤ ${l.max_prompt_chars} characters, ≤ ${l.max_new_tokens} new tokens, ` +
    `≤ ${l.max_num_beams} beams, ≤ ${l.max_return_sequences} sequences, ≤ ${l.max_stop_strings} stop strings, ` +
    `≤ ${l.max_verify_candidates} verify candidates, ${l.request_timeout_s} s per request.`;
  $("max_new_tokens").max = l.max_new_tokens;
  $("verify-candidates").max = l.max_verify_candidates;
  $("verify-cap").textContent = `1 to ${l.max_verify_candidates} on this server`;
  const strategies = $("strategy");
  strategies.replaceChildren(...info.strategies.map((name) => option(name)));
  for (const [name, value] of Object.entries(info.defaults || {})) {
    const input = $("controls").elements.namedItem(name);
    if (!input || value === null || input.dataset?.type === "lines" && value.length === 0) continue;
    if (input.type === "checkbox") input.checked = Boolean(value);
    else input.value = Array.isArray(value) ? value.join("\n") : String(value);
  }
}

async function loadInfo() {
  try {
    const response = await fetch("/api/info");
    if (!response.ok) return showHttpError(response);
    state.info = await response.json();
    showInfo(state.info);
  } catch (err) {
    showError(`Could not reach the server: ${err.message}`);
  }
  applyStrategy();
}

/* ---------- messages ---------- */

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  setStatus("error", "error");
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
  document.querySelectorAll(".invalid").forEach((node) => {
    node.classList.remove("invalid");
    node.removeAttribute("aria-invalid");
  });
}

/* The input behind a field the server names: a decoding control or the prompt, or (`fields`) one of a panel's own
   inputs, such as Verify's {candidates: "verify-candidates"}. */
function markInvalid(field, fields) {
  const input = $(fields?.[field] || field);
  if (!input) return;
  if (input === $("prompt") || $("controls").contains(input) || Object.values(fields || {}).includes(input.id)) {
    input.classList.add("invalid");
    input.setAttribute("aria-invalid", "true");
  }
}

/* 422 lists each bad field (pydantic's `loc` and `msg`); 429 and 503 explain themselves in `detail`. */
async function showHttpError(response, fields) {
  let detail = null;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = response.statusText;
  }
  const heading = { 422: "Invalid settings", 429: "One request at a time", 503: "Server busy", 504: "Timed out" }[
    response.status] ||
    `Error ${response.status}`;
  const items = Array.isArray(detail) ? detail : [detail];
  const lines = items.map((item) => {
    if (item && typeof item === "object") {
      const field = (item.loc || []).filter((part) => part !== "body").join(".");
      if (field) markInvalid(field.split(".")[0], fields);
      return field ? `${field}: ${item.msg}` : String(item.msg);
    }
    const text = String(item);
    markInvalid((text.match(/^\w+/) || [""])[0], fields);
    return text;
  });
  showError(`${heading} (HTTP ${response.status}): ${lines.join("; ")}`);
}

function setStatus(text, name) {
  $("status").textContent = text;
  $("status").dataset.state = name;
}

function setBusy(busy) {
  $("generate").disabled = busy;
  $("stop-button").disabled = !busy;
  $("compare-cache").disabled = busy || $("strategy").value === "beam";
  $("verify").disabled = busy;
}

/* "waiting for the model…", or how many requests are before this one in the server's line. */
function showQueue(position) {
  setStatus(position > 0 ? `waiting: ${position} request${position === 1 ? "" : "s"} before this one…` :
    "waiting for the model…", "waiting");
}

/* ---------- requests ---------- */

/* Reads a server-sent event stream: blocks separated by a blank line, `event:` and `data:` fields. */
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = /\r\n\r\n|\n\n|\r\r/.exec(buffer))) {
      const block = buffer.slice(0, end.index);
      buffer = buffer.slice(end.index + end[0].length);
      let name = "message";
      const data = [];
      for (const line of block.split(/\r\n|\n|\r/)) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue; // comments (":...") and field-only lines
        const field = line.slice(0, colon);
        const text = line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = text;
        if (field === "data") data.push(text);
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

/* Starts a request unless one is running (one at a time: the server would refuse a second with 429). A refused
   request leaves what is on the page as it was; only an accepted one clears the output. */
function beginRequest() {
  if (state.controller) return null;
  clearError();
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  return controller;
}

function endRequest(controller) {
  if (state.controller !== controller) return;
  state.controller = null;
  setBusy(false);
}

/* ---------- wiring ---------- */

function init() {
  $("strategy").addEventListener("change", applyStrategy);
  $("generate").addEventListener("click", generate);
  $("stop-button").addEventListener("click", () => state.controller?.abort());
  $("compare-cache").addEventListener("click", compareCache);
  $("verify").addEventListener("click", verifyRun);
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) generate();
  });
  wireOutput();
  document.addEventListener("keydown", (event) => event.key === "Escape" && hideTooltip());
  document.addEventListener("click", (event) => !event.target.closest?.("#output .token") && hideTooltip());
  $("step").addEventListener("change", () => showStep(Number($("step").value)));
  $("step-prev").addEventListener("click", () => showStep((state.selectedStep ?? 0) - 1));
  $("step-next").addEventListener("click", () => showStep((state.selectedStep ?? -1) + 1));
  wireTabs();
  wireAttention();
  loadInfo();
}

document.addEventListener("DOMContentLoaded", init);
