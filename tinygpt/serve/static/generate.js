/* The output of a generation (POST /api/generate, streamed): the prompt as the model reads it, then each token as it
   arrives, coloured by its probability, the box following the stream while the reader is at its bottom; the
   sequences of beam search (or of several samples); the statistics, the completed function, and what is left to
   inspect after Stop. Tokens are one Tab stop: arrow keys move between them, Enter explains one. */
"use strict";

function resetOutput() {
  state.tokens = [];
  state.pieces = [];
  state.promptIds = [];
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

/* Appends to the output box; a reader at its bottom stays there, one who scrolled up to read is left in peace. */
function appendToOutput(...nodes) {
  const output = $("output");
  const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 24;
  output.append(...nodes);
  if (atBottom) output.scrollTop = output.scrollHeight;
}

/* A generated token: `text` is what it adds to the output (nothing for a token that ends inside a character: it is
   drawn as a thin empty box, and the next token shows the character); the first token is the output's Tab stop. */
function tokenSpan(index, text) {
  const span = element("span", "token");
  fillTokenText(span, text);
  span.tabIndex = index === 0 ? 0 : -1;
  span.dataset.index = String(index);
  return span;
}

function addTokenSpan(event) {
  const span = tokenSpan(event.index, event.stream_text);
  span.dataset.prob = String(event.prob);
  span.style.backgroundColor = probColour(event.prob);
  appendToOutput(span);
}

/* Roving focus: the token last focused is the one Tab reaches; arrows, Home and End move among the tokens. */
function makeTabStop(span) {
  for (const other of $("output").querySelectorAll(".token[tabindex='0']")) other.tabIndex = -1;
  span.tabIndex = 0;
}

function wireOutput() {
  const output = $("output");
  const tokenOf = (event) => event.target.closest?.("#output .token");
  output.addEventListener("mouseover", (event) => tokenOf(event) && showTooltip(tokenOf(event)));
  output.addEventListener("focusin", (event) => {
    if (!tokenOf(event)) return;
    makeTabStop(tokenOf(event));
    showTooltip(tokenOf(event));
  });
  output.addEventListener("mouseout", (event) => !event.relatedTarget?.closest?.("#output .token") && hideTooltip());
  output.addEventListener("focusout", hideTooltip);
  output.addEventListener("click", (event) => tokenOf(event) && pickStep(Number(tokenOf(event).dataset.index)));
  output.addEventListener("keydown", (event) => {
    const token = tokenOf(event);
    if (!token) return;
    const all = [...output.querySelectorAll(".token")];
    const moves = { ArrowRight: all.indexOf(token) + 1, ArrowLeft: all.indexOf(token) - 1, Home: 0,
      End: all.length - 1 };
    if (event.key === "Enter") pickStep(Number(token.dataset.index));
    else if (event.key in moves) {
      event.preventDefault();
      all[Math.min(Math.max(0, moves[event.key]), all.length - 1)].focus();
    }
  });
}

/* Clicking a token opens its step in the explainer. */
function pickStep(index) {
  openTab("explainer-panel");
  showStep(index);
  $("explainer-panel").scrollIntoView({ block: "nearest" });
}

/* Beam search and several sequences have no per-token trace: the sequence shown is drawn token by token all the
   same (hovering says why there is nothing more), and the explainer says where to look instead. */
function showUntracedSequence(hypothesis, scored) {
  state.pieces = hypothesis.pieces;
  appendToOutput(...hypothesis.pieces.map((text, index) => {
    const span = tokenSpan(index, text);
    span.classList.add("untraced");
    return span;
  }));
  $("step-summary").textContent = scored ?
    "Beam search keeps several sequences at every step, so no token was chosen alone: the output shows the best " +
    "sequence, and the Sequences tab shows each step's candidates, kept and pruned." :
    "Several sequences were drawn: the output shows the first. Token by token explanations follow one sequence " +
    "only: set return sequences to 1 to see how each token was chosen.";
}

/* "Completed function (compiles)", and a note when the body was cut at the token limit. */
function showFunction(block) {
  if (!block) return;
  $("function-text").textContent = block.text;
  $("function").querySelector("h3").textContent =
    `Completed function (${block.compiles ? "compiles" : "does not compile"})`;
  const note = $("function-note");
  note.hidden = !block.truncated;
  note.textContent = !block.truncated ? "" : block.added_pass ?
    "The token limit cut the body short (inside a docstring, a string or a statement), and nothing written under " +
    "the header compiles on its own: it was dropped and `pass` added as the body. Raise max new tokens to see more." :
    "The token limit cut the body short: it is trimmed back to the last line that compiles.";
  $("function").hidden = false;
}

function showStats(event) {
  const endOfText = event.finish_reason === "end_of_text"; // its last token, which ends the text and is not drawn
  const shown = event.tokens.length - (endOfText ? 1 : 0);
  const speed = event.tokens_per_second == null ? "" : `, ${event.tokens_per_second.toFixed(1)} tokens/s`;
  const first = event.time_to_first_token_s == null ? "" :
    `, first token after ${event.time_to_first_token_s.toFixed(3)} s`;
  $("stats").textContent = `${shown} token${shown === 1 ? "" : "s"}${endOfText ? " + end-of-text" : ""} in ` +
    `${event.seconds.toFixed(2)} s${speed}${first}; finished: ${event.finish_reason}`;
}

const handlers = {
  start(event) {
    $("output").dataset.state = "streaming";
    state.promptIds = event.prompt_tokens.map((token) => token.id);
    const prompt = element("span", "prompt-token"); // the prompt as the model reads it (see token healing)
    fillTokenText(prompt, event.prompt);
    appendToOutput(prompt);
    if (event.queue_position > 0) showQueue(event.queue_position);
    else setStatus("generating…", "streaming");
  },
  queue(event) {
    if (event.queue_position > 0) showQueue(event.queue_position);
    else setStatus("generating…", "streaming");
  },
  token(event) {
    state.tokens[event.index] = event;
    addTokenSpan(event);
    setStatus(`generating… ${state.tokens.length} tokens`, "streaming");
  },
  beam(event) {
    showSequences(event);
    if (event.hypotheses.length) showUntracedSequence(event.hypotheses[0], event.scored);
  },
  done(event) {
    state.allTokens = event.all_tokens;
    if (event.stream_tail) appendToOutput(element("span", "plain", event.stream_tail));
    if (state.tokens.length === 0 && state.pieces.length === 0) appendToOutput(element("span", "plain", event.text));
    $("output").dataset.state = "done";
    showStats(event);
    showFunction(event.function);
    setStatus(`done (${event.finish_reason})`, "done");
    if (state.tokens.length && state.selectedStep === null) showStep(0);
    if (!$("attention-panel").hidden) loadAttention();
  },
  error(event) {
    showError(`Generation failed: ${event.message}`);
  },
};

/* Stop: what was streamed stays inspectable (tooltips, explainer, attention over the prompt and those tokens). */
function stopped() {
  const count = state.tokens.length;
  $("output").dataset.state = "stopped";
  state.allTokens = state.promptIds.concat(state.tokens.map((token) => token.id));
  $("stats").textContent = `stopped after ${count} token${count === 1 ? "" : "s"}` +
    (count ? ": hover or click them to see how each was chosen" : "");
  setStatus(`stopped after ${count} tokens`, "stopped");
  if (count && state.selectedStep === null) showStep(0);
  if (!$("attention-panel").hidden) loadAttention();
}

async function generate() {
  const controller = beginRequest();
  if (!controller) return;
  showQueue(0);
  let started = false;
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
    started = true;
    await readEvents(response, (name, data) => handlers[name]?.(data));
  } catch (err) {
    if (err.name !== "AbortError") showError(`Generation failed: ${err.message}`);
    else if (started) stopped();
    else setStatus("stopped before it started", "stopped");
  } finally {
    endRequest(controller);
  }
}
