/* The attention view (POST /api/attention): a heat map per layer and head of the tokens the model saw in the last
   generation (or up to Stop), a large view of one head or the mean of a layer's heads, and a token picker that
   shades what a token attended to. Each canvas carries a text alternative (role img and its label). */
"use strict";

function wireAttention() {
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
}

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
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `attention map of layer ${l}, head ${h}: click to enlarge`);
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
  const most = row.indexOf(Math.max(...row));
  const headName = state.head === "all" ? `the mean of layer ${state.layer}'s heads` :
    `layer ${state.layer}, head ${state.head}`;
  large.setAttribute("aria-label", `attention of ${headName}; token ${query} ` +
    `(${tokenLabel(state.attention.tokens[query].text)}) attends most to token ${most} ` +
    `(${tokenLabel(state.attention.tokens[most].text)}), ${percent(row[most] / 255)}`);
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
