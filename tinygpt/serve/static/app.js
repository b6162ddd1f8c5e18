/* The playground's behaviour: it reads the decoding controls (limits and defaults from GET /api/info), streams
   POST /api/generate (server-sent events, read with fetch and a stream reader because the request is a POST), draws
   each token coloured by its probability as it arrives, the beam hypotheses and the final statistics, and shows
   errors naming the field. The views that look inside a token or a generation are in inspect.js.

   Safety rule of this file: text from the model or the user only ever reaches the page through textContent or
   createTextNode. Nothing here compiles HTML, so generated code is shown, never run. */
"use strict";

const $ = (id) => document.getElementById(id);
const clientId = Math.random().toString(36).slice(2) + Date.now().toString(36);
const state = {
  info: null, // GET /api/info
  tokens: [], // the `token` events of the current generation, by index
  allTokens: null, // ids the model saw (prompt + generated), from `done`, for the attention view
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
    `${l.request_timeout_s} s per request.`;
  $("max_new_tokens").max = l.max_new_tokens;
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
  document.querySelectorAll(".invalid").forEach((node) => node.classList.remove("invalid"));
}

function markInvalid(field) {
  const input = $(field);
  if (input && (input === $("prompt") || $("controls").contains(input))) input.classList.add("invalid");
}

/* 422 lists each bad field (pydantic's `loc` and `msg`); 429 and 503 explain themselves in `detail`. */
async function showHttpError(response) {
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
      if (field) markInvalid(field.split(".")[0]);
      return field ? `${field}: ${item.msg}` : String(item.msg);
    }
    const text = String(item);
    markInvalid((text.match(/^\w+/) || [""])[0]);
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

/* ---------- generation ---------- */

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

function resetOutput() {
  state.tokens = [];
  state.allTokens = null;
  state.attention = null;
  state.selectedStep = null;
  $("output").replaceChildren();
  $("output").dataset.state = "waiting";
  $("stats").textContent = "";
  $("function").hidden = true;
  $("explainer").replaceChildren();
  $("step-summary").textContent = "Click a token to see how it was chosen.";
  $("beams").replaceChildren();
  $("beams-note").textContent = "";
  $("beam-steps").replaceChildren();
  $("heatmaps").replaceChildren();
  $("attention-tokens").replaceChildren();
  $("attention-status").textContent = "Open this tab after a generation to see the attention of every head.";
  hideTooltip();
}

function addTokenSpan(event) {
  const span = element("span", "token");
  fillTokenText(span, event.text);
  span.tabIndex = 0;
  span.dataset.index = String(event.index);
  span.dataset.prob = String(event.prob);
  span.style.backgroundColor = probColour(event.prob);
  $("output").appendChild(span);
}

const handlers = {
  start(event) {
    $("output").dataset.state = "streaming";
    const prompt = element("span", "prompt-token"); // the prompt as the model reads it (see token healing)
    fillTokenText(prompt, event.prompt);
    $("output").appendChild(prompt);
  },
  token(event) {
    state.tokens[event.index] = event;
    addTokenSpan(event);
    setStatus(`generating… ${state.tokens.length} tokens`, "streaming");
  },
  beam(event) {
    const rows = event.hypotheses.map((hypothesis, rank) => {
      const row = element("tr");
      const text = element("td");
      text.appendChild(element("pre", "beam-text", hypothesis.text));
      row.append(element("td", "num", rank + 1));
      const score = hypothesis.score == null ? "none" : hypothesis.score.toFixed(4);
      if (event.scored) row.append(element("td", "num", score));
      row.append(element("td", "num", hypothesis.tokens.length), text);
      return row;
    });
    const head = element("tr");
    head.append(element("th", "", "#"));
    if (event.scored) head.append(element("th", "", "score"));
    head.append(element("th", "", "tokens"), element("th", "", "text"));
    $("beams").replaceChildren(head, ...rows);
    $("beams-note").textContent = event.scored ? "" :
      "Sampled sequences are independent draws, one after another: they have no beam score.";
    showBeamSteps(event.steps);
    openTab("beams-panel");
  },
  done(event) {
    state.allTokens = event.all_tokens;
    if (state.tokens.length === 0) $("output").appendChild(element("span", "plain", event.text));
    $("output").dataset.state = "done";
    const speed = event.tokens_per_second == null ? "" : `, ${event.tokens_per_second.toFixed(1)} tokens/s`;
    const first = event.time_to_first_token_s == null ? "" :
      `, first token after ${event.time_to_first_token_s.toFixed(3)} s`;
    $("stats").textContent = `${event.tokens.length} tokens in ${event.seconds.toFixed(2)} s${speed}${first}; ` +
      `finished: ${event.finish_reason}`;
    if (event.function) {
      $("function-text").textContent = event.function.text;
      $("function").querySelector("h3").textContent =
        `Completed function (${event.function.compiles ? "compiles" : "does not compile"})`;
      $("function").hidden = false;
    }
    setStatus(`done (${event.finish_reason})`, "done");
    if (state.tokens.length && state.selectedStep === null) showStep(0);
    if (!$("attention-panel").hidden) loadAttention();
  },
  error(event) {
    showError(`Generation failed: ${event.message}`);
  },
};

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

async function generate() {
  const controller = beginRequest();
  if (!controller) return;
  setStatus("waiting for the model…", "waiting");
  try {
    const response = await fetch("/api/generate", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(readSettings()), signal: controller.signal,
    });
    if (!response.ok) {
      await showHttpError(response);
      return;
    }
    resetOutput();
    await readEvents(response, (name, data) => handlers[name]?.(data));
  } catch (err) {
    if (err.name === "AbortError") {
      setStatus(`stopped after ${state.tokens.length} tokens`, "stopped");
      $("output").dataset.state = "stopped";
    } else {
      showError(`Generation failed: ${err.message}`);
    }
  } finally {
    endRequest(controller);
  }
}

/* ---------- verify: candidates checked in the sandbox (POST /api/verify) ---------- */

function verifyBody() {
  const settings = readSettings();
  const body = { prompt: settings.prompt, client_id: clientId, candidates: controlValue($("verify-candidates")) };
  if (settings.max_new_tokens !== undefined) body.max_new_tokens = settings.max_new_tokens;
  if (settings.seed !== undefined) body.seed = settings.seed;
  const tests = $("verify-tests").value;
  if (tests.trim()) body.tests = tests;
  if (body.candidates === null) delete body.candidates;
  return body;
}

function showVerified(result) {
  $("output").appendChild(element("span", "prompt-token", $("prompt").value));
  $("output").appendChild(element("span", "plain", result.text));
  $("output").dataset.state = "done";
  if (result.function) {
    $("function-text").textContent = result.function.text;
    $("function").querySelector("h3").textContent =
      `Completed function (${result.function.compiles ? "compiles" : "does not compile"})`;
    $("function").hidden = false;
  }
  const summary = result.verified ? `Verified: candidate ${result.tried} of those tried passed ${result.checks}.` :
    `None of ${result.tried} candidates passed ${result.checks}: the greedy completion is shown.`;
  $("verify-summary").textContent = summary;
  const head = element("tr");
  head.append(element("th", "", "#"), element("th", "", "result"), element("th", "", "why"));
  const rows = result.results.map((run, index) => {
    const row = element("tr", run.status === "passed" ? "passed" : "");
    row.append(element("td", "num", index + 1), element("td", "", run.confined ? run.status :
      `${run.status} (unconfined)`), element("td", "", run.reason));
    return row;
  });
  $("verify-runs").replaceChildren(head, ...rows);
  setStatus(result.verified ? "verified" : "not verified", "done");
}

async function verifyRun() {
  const controller = beginRequest();
  if (!controller) return;
  openTab("verify-panel");
  setStatus("generating and checking candidates…", "waiting");
  try {
    const response = await fetch("/api/verify", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(verifyBody()), signal: controller.signal,
    });
    if (!response.ok) {
      await showHttpError(response);
      return;
    }
    resetOutput();
    $("verify-summary").textContent = "";
    $("verify-runs").replaceChildren();
    showVerified(await response.json());
  } catch (err) {
    if (err.name === "AbortError") setStatus("stopped", "stopped");
    else showError(`Verify failed: ${err.message}`);
  } finally {
    endRequest(controller);
  }
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
  const output = $("output");
  const tokenOf = (event) => event.target.closest?.("#output .token");
  output.addEventListener("mouseover", (event) => tokenOf(event) && showTooltip(tokenOf(event)));
  output.addEventListener("focusin", (event) => tokenOf(event) && showTooltip(tokenOf(event)));
  output.addEventListener("mouseout", (event) => !event.relatedTarget?.closest?.("#output .token") && hideTooltip());
  output.addEventListener("focusout", hideTooltip);
  output.addEventListener("click", (event) => tokenOf(event) && pickStep(Number(tokenOf(event).dataset.index)));
  output.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && tokenOf(event)) pickStep(Number(tokenOf(event).dataset.index));
  });
  $("step").addEventListener("change", () => showStep(Number($("step").value)));
  $("step-prev").addEventListener("click", () => showStep((state.selectedStep ?? 0) - 1));
  $("step-next").addEventListener("click", () => showStep((state.selectedStep ?? -1) + 1));
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => openTab(tab.dataset.panel));
  }
  $("heatmaps").addEventListener("click", (event) => {
    const canvas = event.target.closest("canvas.heatmap");
    if (canvas) selectHead(Number(canvas.dataset.layer), Number(canvas.dataset.head));
  });
  const pickedHead = () => ($("attention-head").value === "all" ? "all" : Number($("attention-head").value));
  $("attention-layer").addEventListener("change", () => selectHead(Number($("attention-layer").value), pickedHead()));
  $("attention-head").addEventListener("change", () => selectHead(state.layer, pickedHead()));
  $("attention-tokens").addEventListener("click", (event) => {
    const span = event.target.closest(".att-token");
    if (span) showQuery(Number(span.dataset.position));
  });
  loadInfo();
}

/* Clicking a token opens its step in the explainer. */
function pickStep(index) {
  openTab("explainer-panel");
  showStep(index);
  $("explainer-panel").scrollIntoView({ block: "nearest" });
}

document.addEventListener("DOMContentLoaded", init);
