/* The playground's "look inside" views, drawn from what app.js received: the tooltip of a token (its top
   alternatives before and after the logits processors), the decoding explainer (the candidates after each processor
   at one step, each with what it did in plain words), the beam search step by step, the tabs, the attention view
   (POST /api/attention: a heat map per layer and head, a large view of one head or the mean of a layer's heads, and
   a token picker that shades what a token attended to), and the KV cache comparison (POST /api/compare-cache,
   streamed: the time of every token plotted as it comes, with the cache and without).

   Like app.js, it writes model and user text with textContent only. */
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
  const token = state.tokens[Number(span.dataset.index)];
  if (!token) return;
  const tooltip = $("tooltip");
  const stages = token.stages;
  const last = stages[stages.length - 1];
  tooltip.replaceChildren(
    element("p", "tooltip-head", `${tokenLabel(token.text)}  p = ${percent(token.prob)} ` +
      `(model alone ${percent(token.model_prob)}) · step ${token.index}`),
    element("div", "tooltip-stages"));
  const columns = tooltip.lastChild;
  columns.append(stageBlock("before the processors (model)", stages[0], token.id, "before"),
    stageBlock(`after the processors (${stages.length > 1 ? last.name : "none"})`, last, token.id, "after"));
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

function openTab(panelId) {
  for (const tab of document.querySelectorAll(".tab")) {
    const active = tab.dataset.panel === panelId;
    tab.classList.toggle("active", active);
    tab.setAttribute("aria-selected", String(active));
    $(tab.dataset.panel).hidden = !active;
  }
  if (panelId === "attention-panel") loadAttention();
}

/* ---------- attention ---------- */

function decodeMap(base64) {
  const bytes = atob(base64);
  const values = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) values[i] = bytes.charCodeAt(i);
  return values;
}

/* The heat map of one head (or of the mean of a layer's heads, head "all") as T*T values in 0..255. */
function headValues(layer, head) {
  const maps = state.attention.maps[layer];
  if (head !== "all") return maps[head];
  const mean = new Uint8Array(maps[0].length);
  for (let i = 0; i < mean.length; i++) {
    let sum = 0;
    for (const map of maps) sum += map[i];
    mean[i] = Math.round(sum / maps.length);
  }
  return mean;
}

/* Paints T*T values on `canvas` (T x T pixels, scaled by CSS): white (0) to dark blue (255). */
function paint(canvas, values, length) {
  canvas.width = length;
  canvas.height = length;
  const context = canvas.getContext("2d");
  const image = context.createImageData(length, length);
  for (let i = 0; i < values.length; i++) {
    const weight = values[i] / 255;
    image.data[4 * i] = Math.round(255 - weight * 247);
    image.data[4 * i + 1] = Math.round(255 - weight * 207);
    image.data[4 * i + 2] = Math.round(255 - weight * 148);
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

async function loadAttention() {
  if (state.attention || !state.allTokens) {
    if (!state.allTokens) $("attention-status").textContent = "Generate first: the attention view shows the " +
      "tokens of the last generation.";
    return;
  }
  const blockSize = state.info ? state.info.model.block_size : state.allTokens.length;
  const tokens = state.allTokens.slice(-blockSize);
  $("attention-status").textContent = `computing the attention of ${tokens.length} tokens…`;
  try {
    const response = await fetch("/api/attention", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ tokens }),
    });
    if (!response.ok) return await showHttpError(response);
    const result = await response.json();
    result.maps = result.maps.map((layer) => layer.map(decodeMap));
    state.attention = result;
    state.query = result.length - 1;
    drawAttention();
  } catch (err) {
    showError(`Attention failed: ${err.message}`);
  }
}

function drawAttention() {
  const { n_layer: layers, n_head: heads, length } = state.attention;
  $("attention-status").textContent = `${length} tokens: row = the token attending, column = the token attended to ` +
    `(darker = more attention). Click a map to enlarge it.`;
  const grid = $("heatmaps");
  grid.style.gridTemplateColumns = `auto repeat(${heads}, 1fr)`;
  const cells = [element("span", "")];
  for (let h = 0; h < heads; h++) cells.push(element("span", "axis", `head ${h}`));
  for (let l = 0; l < layers; l++) {
    cells.push(element("span", "axis", `layer ${l}`));
    for (let h = 0; h < heads; h++) {
      const canvas = element("canvas", "heatmap");
      canvas.dataset.layer = String(l);
      canvas.dataset.head = String(h);
      canvas.title = `layer ${l}, head ${h}`;
      paint(canvas, state.attention.maps[l][h], length);
      cells.push(canvas);
    }
  }
  grid.replaceChildren(...cells);
  const layerPicker = $("attention-layer");
  layerPicker.replaceChildren(...Array.from({ length: layers }, (_, l) => option(l)));
  const headPicker = $("attention-head");
  headPicker.replaceChildren(option("all"), ...Array.from({ length: heads }, (_, h) => option(h)));
  const pickers = $("attention-tokens");
  pickers.replaceChildren(...state.attention.tokens.map((token, position) => {
    const span = element("span", "att-token");
    fillTokenText(span, token.text);
    span.dataset.position = String(position);
    return span;
  }));
  selectHead(Math.min(state.layer, layers - 1), state.head === "all" ? "all" : Math.min(state.head, heads - 1));
}

function selectHead(layer, head) {
  state.layer = layer;
  state.head = head;
  $("attention-layer").value = String(layer);
  $("attention-head").value = String(head);
  document.querySelectorAll("canvas.heatmap").forEach((canvas) => canvas.classList.toggle("picked",
    Number(canvas.dataset.layer) === layer && (head === "all" || Number(canvas.dataset.head) === head)));
  showQuery(state.query);
}

/* The large view of the picked head with the query row outlined, and the tokens shaded by that row's weights. */
function showQuery(query) {
  const { length } = state.attention;
  state.query = query;
  const values = headValues(state.layer, state.head);
  const large = $("attention-large");
  const scratch = document.createElement("canvas");
  paint(scratch, values, length);
  const size = 360;
  large.width = size;
  large.height = size;
  const context = large.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(scratch, 0, 0, size, size);
  context.strokeStyle = "#e11d48";
  context.lineWidth = 2;
  context.strokeRect(0, (query * size) / length, size, Math.max(2, size / length));
  const row = values.subarray(query * length, (query + 1) * length);
  const strongest = Math.max(1, ...row);
  for (const span of document.querySelectorAll("#attention-tokens .att-token")) {
    const position = Number(span.dataset.position);
    const shade = row[position] / strongest; // relative: the most attended token is the darkest
    span.style.backgroundColor = `rgba(8, 48, 107, ${shade.toFixed(3)})`;
    span.style.color = shade > 0.5 ? "#fff" : "";
    const label = tokenLabel(state.attention.tokens[position].text);
    span.title = `${position}: ${label}, attention ${percent(row[position] / 255)}`;
    span.classList.toggle("query", position === query);
  }
}

/* ---------- beam search, step by step ---------- */

const BEAM_STATUS = { continues: "kept", finished: "finished", pruned: "pruned" };

/* One block per step: the running beams with their cumulative log-probabilities, then their best extensions, each
   marked kept (a beam of the next step), finished (entered the finished list) or pruned. */
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
      text.appendChild(element("pre", "beam-text", beam.text.slice(-60)));
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

/* ---------- KV cache on/off ---------- */

const CACHE_RUNS = { with_cache: { label: "with KV cache", colour: "#16a34a" },
  without_cache: { label: "without KV cache", colour: "#dc2626" } };

/* Time per token against the token's index, one line per run, on the `cache-plot` canvas (no library). */
function drawCachePlot(series, maxTokens) {
  const canvas = $("cache-plot");
  const context = canvas.getContext("2d");
  const width = canvas.width;
  const height = canvas.height;
  const left = 56;
  const bottom = height - 28;
  context.clearRect(0, 0, width, height);
  const all = Object.values(series).flat();
  const top = Math.max(1e-6, ...all) * 1.1;
  context.strokeStyle = "#9ca3af";
  context.fillStyle = "#374151";
  context.font = "12px sans-serif";
  context.beginPath();
  context.moveTo(left, 8);
  context.lineTo(left, bottom);
  context.lineTo(width - 8, bottom);
  context.stroke();
  context.fillText(`${(top * 1000).toFixed(1)} ms`, 4, 16);
  context.fillText("0", left - 14, bottom);
  context.fillText(`token ${Math.max(1, maxTokens)} →`, width - 90, height - 8);
  context.fillText("time per token", left + 6, 16);
  const x = (index) => left + ((width - left - 12) * index) / Math.max(1, maxTokens - 1);
  const y = (seconds) => bottom - ((bottom - 12) * seconds) / top;
  for (const [run, values] of Object.entries(series)) {
    context.strokeStyle = CACHE_RUNS[run].colour;
    context.lineWidth = 2;
    context.beginPath();
    values.forEach((seconds, index) => (index ? context.lineTo(x(index), y(seconds)) :
      context.moveTo(x(index), y(seconds))));
    context.stroke();
  }
}

function cacheTable(result) {
  const table = element("table", "table");
  const rows = [["", "seconds", "tokens", "text"]];
  for (const [run, { label }] of Object.entries(CACHE_RUNS)) {
    const outcome = result[run];
    if (!outcome) rows.push([label, "—", "—", "not run: the request's time ran out"]);
    else rows.push([`${label}${outcome.finished ? "" : " (ran out of time)"}`, outcome.seconds.toFixed(3),
      outcome.tokens.length, outcome.text]);
  }
  rows.forEach((cells, i) => {
    const row = element("tr");
    cells.forEach((cell, j) => {
      const cellNode = element(i === 0 ? "th" : "td", j === 1 || j === 2 ? "num" : "");
      cellNode.appendChild(j === 3 && i > 0 ? element("pre", "beam-text", cell) : document.createTextNode(cell));
      row.appendChild(cellNode);
    });
    table.appendChild(row);
  });
  return table;
}

function cacheVerdict(result) {
  const withCache = result.with_cache;
  const withoutCache = result.without_cache;
  const threads = `both runs used ${result.threads} BLAS thread${result.threads === 1 ? "" : "s"}`;
  if (result.outcome !== "done" || !withCache || !withoutCache) {
    const kept = withCache?.finished ? "the run with the cache finished and is kept; " : "";
    return element("p", "different", `The request ran out of time: ${kept}compare fewer tokens (${threads}).`);
  }
  const perToken = (run) => run.seconds / Math.max(1, run.tokens.length);
  const speedup = perToken(withoutCache) / Math.max(perToken(withCache), 1e-9);
  return element("p", result.same_tokens ? "same" : "different",
    `${result.same_tokens ? "Same tokens" : "Different tokens"} with and without the cache; the cache made each ` +
    `token ${speedup.toFixed(1)}× faster (${threads}). With the cache the time per token stays flat; without it, ` +
    "every token re-runs the whole window, so it grows with the text.");
}

/* POST /api/compare-cache with the current settings, streamed: each token's time is plotted as it arrives; Stop
   cancels it like a generation. */
async function compareCache() {
  const controller = beginRequest();
  if (!controller) return;
  setStatus("generating twice, with and without the KV cache…", "waiting");
  const series = { with_cache: [], without_cache: [] };
  let maxTokens = 1;
  try {
    const response = await fetch("/api/compare-cache", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(readSettings()), signal: controller.signal,
    });
    if (!response.ok) return await showHttpError(response);
    openTab("cache-panel");
    $("cache-result").replaceChildren();
    await readEvents(response, (name, event) => {
      if (name === "start") maxTokens = event.max_new_tokens;
      if (name === "tick") {
        series[event.run].push(event.seconds);
        drawCachePlot(series, maxTokens);
        setStatus(`${CACHE_RUNS[event.run].label}: token ${event.index + 1}`, "streaming");
      }
      if (name === "error") showError(`Comparison failed: ${event.message}`);
      if (name === "done") {
        const verdict = cacheVerdict(event);
        verdict.id = "cache-verdict";
        $("cache-result").replaceChildren(verdict, cacheTable(event));
        setStatus(event.outcome === "done" ? "compared" : "compared (out of time)", "done");
      }
    });
  } catch (err) {
    if (err.name === "AbortError") setStatus("comparison stopped", "stopped");
    else showError(`Comparison failed: ${err.message}`);
  } finally {
    endRequest(controller);
  }
}
