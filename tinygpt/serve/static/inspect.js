/* The playground's looks inside a token and a search, drawn from what generate.js received: the tooltip of a token
   (its top alternatives before and after the logits processors), the decoding explainer (the candidates after each
   processor at one step, each with what it did in plain words), the tabs (a tablist the arrow keys move through),
   and the sequences of beam search (or of several samples) with the search step by step. The attention view is in
   attention.js, the KV cache comparison in cache.js.

   Like every script here, it writes model and user text with textContent only. */
"use strict";

/* ---------- candidate tables ---------- */

/* A table of candidates (rank, token, probability with a bar), the chosen token highlighted. */
function candidateTable(candidates, chosenId, className) {
  const table = element("table", `candidates ${className || ""}`);
  const body = element("tbody");
  candidates.forEach((candidate, rank) => {
    const row = element("tr", candidate.id === chosenId ? "chosen" : "");
    const bar = element("span", "bar");
    bar.style.width = `${Math.round(candidate.prob * 100)}%`;
    const probability = element("td", "prob");
    probability.append(bar, element("span", "prob-text", percent(candidate.prob)));
    row.append(element("td", "num", rank + 1), element("td", "cand", tokenLabel(candidate.text)), probability);
    body.appendChild(row);
  });
  table.appendChild(body);
  return table;
}

/* One stage: its name, how many tokens it kept, and its candidates; filtered ones (p = 0) are summed up, not listed. */
function stageBlock(title, stage, chosenId, className) {
  const block = element("div", "stage");
  const kept = stage.candidates.filter((candidate) => candidate.prob > 0);
  block.appendChild(element("h3", "", title));
  if (stage.explanation) block.appendChild(element("p", "explanation", stage.explanation));
  const plural = stage.kept === 1 ? "" : "s";
  block.appendChild(element("p", "kept", `${stage.kept.toLocaleString("en")} token${plural} kept`));
  block.appendChild(candidateTable(kept, chosenId, className));
  if (kept.length < stage.candidates.length) {
    const filtered = (state.info ? state.info.model.vocab_size : 0) - stage.kept;
    block.appendChild(element("p", "kept", filtered > 0 ?
      `the other ${filtered.toLocaleString("en")} are filtered out (p = 0)` : "the others are filtered out (p = 0)"));
  }
  if (!kept.some((candidate) => candidate.id === chosenId)) {
    block.appendChild(element("p", "kept", "the chosen token is not among these"));
  }
  return block;
}


/* ---------- tooltip ---------- */

function showTooltip(span) {
  const index = Number(span.dataset.index);
  const token = state.tokens[index];
  const tooltip = $("tooltip");
  if (!token) {
    if (!span.classList.contains("untraced")) return;
    tooltip.replaceChildren(element("p", "tooltip-head", `${tokenLabel(state.pieces[index] ?? "")} · token ${index}`),
      element("p", "kept", "No alternatives to show: this sequence was chosen by beam search (or drawn with " +
        "others), not token by token. See the Sequences tab."));
  } else {
    const stages = token.stages;
    const last = stages[stages.length - 1];
    tooltip.replaceChildren(
      element("p", "tooltip-head", `${tokenLabel(token.text)}  p = ${percent(token.prob)} ` +
        `(model alone ${percent(token.model_prob)}) · step ${token.index}`),
      element("div", "tooltip-stages"));
    tooltip.lastChild.append(stageBlock("before the processors (model)", stages[0], token.id, "before"),
      stageBlock(`after the processors (${stages.length > 1 ? last.name : "none"})`, last, token.id, "after"));
  }
  tooltip.hidden = false;
  placeTooltip(tooltip, span.getBoundingClientRect());
}

/* Beside the token where there is room (code lines are short: that covers the least text), else below or above. */
function placeTooltip(tooltip, rect) {
  const width = tooltip.offsetWidth;
  const height = tooltip.offsetHeight;
  const fitTop = (top) => Math.min(Math.max(8, top), window.innerHeight - height - 8);
  let left = rect.right + 16;
  let top = fitTop(rect.top - 24);
  if (left + width > window.innerWidth - 8) {
    left = Math.min(Math.max(8, rect.left), window.innerWidth - width - 8);
    top = rect.bottom + 6 + height > window.innerHeight - 8 ? fitTop(rect.top - height - 6) : rect.bottom + 6;
  }
  tooltip.style.left = `${left}px`;
  tooltip.style.top = `${top}px`;
}

function hideTooltip() {
  $("tooltip").hidden = true;
}

/* ---------- decoding explainer ---------- */

function showStep(index) {
  if (!state.tokens.length) return;
  const step = Math.min(Math.max(0, index), state.tokens.length - 1);
  const token = state.tokens[step];
  state.selectedStep = step;
  document.querySelectorAll("#output .token.selected").forEach((node) => node.classList.remove("selected"));
  document.querySelector(`#output .token[data-index="${step}"]`)?.classList.add("selected");
  $("step").max = String(state.tokens.length - 1);
  $("step").value = String(step);
  $("step-summary").textContent = `chose ${tokenLabel(token.text)}: ${percent(token.model_prob)} from the model, ` +
    `${percent(token.prob)} after ${token.stages.length - 1} processor(s)`;
  const blocks = [];
  token.stages.forEach((stage, i) => {
    if (i > 0) blocks.push(element("div", "arrow", "→"));
    blocks.push(stageBlock(`${i}. ${stage.name}`, stage, token.id, i === 0 ? "before" : ""));
  });
  $("explainer").replaceChildren(...blocks);
}

/* ---------- tabs ---------- */

/* Shows one panel; its tab is selected and the one Tab stop of the tablist. */
function openTab(panelId) {
  for (const tab of document.querySelectorAll(".tab")) {
    const active = tab.dataset.panel === panelId;
    tab.classList.toggle("active", active);
    tab.setAttribute("aria-selected", String(active));
    tab.tabIndex = active ? 0 : -1;
    $(tab.dataset.panel).hidden = !active;
  }
  if (panelId === "attention-panel") loadAttention();
}

/* Click a tab, or move through them with the arrow keys, Home and End (each opens its panel). */
function wireTabs() {
  const tabs = [...document.querySelectorAll(".tab")];
  for (const tab of tabs) tab.addEventListener("click", () => openTab(tab.dataset.panel));
  document.querySelector("[role=tablist]").addEventListener("keydown", (event) => {
    const at = tabs.indexOf(event.target);
    const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 };
    if (at < 0 || !(event.key in moves)) return;
    event.preventDefault();
    const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
    openTab(next.dataset.panel);
    next.focus();
  });
}

/* ---------- sequences: beam search or several samples ---------- */

/* The sequences returned, best first: rank, score (beam search), tokens and the text. */
function showSequences(event) {
  const rows = event.hypotheses.map((hypothesis, rank) => {
    const row = element("tr");
    const text = element("td", "sequence-text");
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
  head.append(element("th", "", "tokens"), element("th", "sequence-text", "text"));
  $("beams").replaceChildren(head, ...rows);
  $("beams-note").textContent = event.scored ? "" :
    "Sampled sequences are independent draws, one after another: they have no beam score.";
  showBeamSteps(event.steps);
  openTab("beams-panel");
}

const BEAM_STATUS = { continues: "kept", finished: "finished", pruned: "pruned" };
const TEXT_SO_FAR = 60; // characters of a beam's text shown, its end

/* One block per step: the running beams with their cumulative log-probabilities, then their best extensions, each
   marked kept (a beam of the next step), finished (entered the finished list) or pruned. Whitespace is shown. */
function showBeamSteps(steps) {
  const blocks = steps.map((step) => {
    const block = element("details", "beam-step");
    block.open = step.step < 3;
    const kept = step.candidates.filter((candidate) => candidate.status === "continues").length;
    block.appendChild(element("summary", "", `step ${step.step}: ${step.beams.length} beam(s), ` +
      `${step.candidates.length} best extensions, ${kept} kept`));
    const table = element("table", "table beam-table");
    const head = element("tr");
    head.append(element("th", "", "beam"), element("th", "", "text so far"), element("th", "", "+ token"),
      element("th", "", "log-prob"), element("th", "", "what became of it"));
    table.appendChild(head);
    for (const candidate of step.candidates) {
      const beam = step.beams[candidate.beam];
      const row = element("tr", `beam-${candidate.status}`);
      const text = element("td");
      const soFar = element("pre", "beam-text");
      if (beam.text.length > TEXT_SO_FAR) soFar.appendChild(element("span", "ws", "…"));
      fillVisibleText(soFar, beam.text.slice(-TEXT_SO_FAR));
      text.appendChild(soFar);
      const fate = candidate.status === "continues" ? `kept as beam ${candidate.new_beam}` :
        candidate.status === "finished" ? "finished: a hypothesis" :
          candidate.ends ? "pruned (it ended, but the finished list holds better)" : "pruned: others scored higher";
      row.append(element("td", "num", `${candidate.beam} (${beam.score.toFixed(2)})`), text,
        element("td", "cand", tokenLabel(candidate.text)), element("td", "num", candidate.score.toFixed(3)),
        element("td", "", fate));
      row.dataset.status = BEAM_STATUS[candidate.status];
      table.appendChild(row);
    }
    block.appendChild(table);
    return block;
  });
  $("beam-steps").replaceChildren(...blocks);
}
