/* The KV cache comparison (POST /api/compare-cache, streamed): the time of every token plotted as it comes, with the
   cache and without, then a verdict that says only what the numbers show (the server's `trend` of each run: did its
   time per token grow, leaving out the first token, which also reads the prompt) and a table of both runs.

   The plot's scale follows the tokens after the first: the first token's prefill can take many times as long, and
   scaled to it the rest would be a flat line at the bottom. Where it is off the scale it is marked at the top with
   its time. Axis titles, ticks and a legend (in the page, under the canvas) say what is drawn. */
"use strict";

const CACHE_RUNS = { with_cache: { label: "with KV cache", colour: "#16a34a" },
  without_cache: { label: "without KV cache", colour: "#dc2626" } };
const PLOT = { left: 58, right: 14, top: 24, bottom: 40 }; // margins, in canvas pixels

const ms = (seconds) => `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1)} ms`;

/* The smallest of 1, 2, 2.5 and 5 times a power of ten that is >= value. */
function niceCeil(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].find((step) => step * power >= value * (1 - 1e-9)) * power;
}

/* The top of the time axis: the slowest token after the first of either run (the first too while it is the only
   one), with a little room; `offScale`: some first token is above it. */
function cacheScale(series) {
  const later = Object.values(series).flatMap((values) => values.slice(1));
  const firsts = Object.values(series).flatMap((values) => values.slice(0, 1));
  const top = niceCeil(Math.max(1e-6, ...(later.length ? later : firsts)) * 1.1);
  return { top, offScale: firsts.some((seconds) => seconds > top) };
}

function drawAxes(context, width, height, top, maxTokens) {
  const bottom = height - PLOT.bottom;
  context.strokeStyle = "#9ca3af";
  context.fillStyle = "#374151";
  context.font = "12px sans-serif";
  context.lineWidth = 1;
  context.beginPath();
  context.moveTo(PLOT.left, PLOT.top);
  context.lineTo(PLOT.left, bottom);
  context.lineTo(width - PLOT.right, bottom);
  context.stroke();
  context.textAlign = "right";
  for (let i = 0; i <= 4; i++) { // time ticks
    const y = bottom - ((bottom - PLOT.top) * i) / 4;
    context.fillText(ms((top * i) / 4), PLOT.left - 6, y + 4);
    context.strokeStyle = "#e5e7eb";
    context.beginPath();
    context.moveTo(PLOT.left + 1, y);
    context.lineTo(width - PLOT.right, y);
    context.stroke();
  }
  context.textAlign = "center";
  const step = niceCeil(Math.max(1, maxTokens / 8));
  for (let token = 1; token <= maxTokens; token += token === 1 && step > 1 ? step - 1 : step) { // token ticks
    const x = plotX(token - 1, width, maxTokens);
    context.fillText(String(token), x, bottom + 16);
  }
  context.fillText("token (1 = the first, which also reads the prompt)", (PLOT.left + width) / 2, height - 6);
  context.textAlign = "left";
  context.fillText("time per token", PLOT.left + 4, 14);
}

function plotX(index, width, maxTokens) {
  return PLOT.left + 8 + ((width - PLOT.left - PLOT.right - 16) * index) / Math.max(1, maxTokens - 1);
}

/* Time per token against the token's index, one line per run, on the `cache-plot` canvas (no library). */
function drawCachePlot(series, maxTokens) {
  const canvas = $("cache-plot");
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const bottom = height - PLOT.bottom;
  const { top } = cacheScale(series);
  context.clearRect(0, 0, width, height);
  drawAxes(context, width, height, top, maxTokens);
  const x = (index) => plotX(index, width, maxTokens);
  const y = (seconds) => bottom - ((bottom - PLOT.top) * Math.min(seconds, top)) / top;
  for (const [run, values] of Object.entries(series)) {
    context.strokeStyle = CACHE_RUNS[run].colour;
    context.fillStyle = CACHE_RUNS[run].colour;
    context.lineWidth = 2;
    const from = values.length && values[0] > top ? 1 : 0; // the first token off the scale is marked, not joined
    context.beginPath();
    values.slice(from).forEach((seconds, i) => (i ? context.lineTo(x(from + i), y(seconds)) :
      context.moveTo(x(from + i), y(seconds))));
    context.stroke();
    if (from === 1) {
      const offset = run === "with_cache" ? 0 : 14;
      context.beginPath();
      context.moveTo(x(0) - 5, PLOT.top + 2);
      context.lineTo(x(0) + 5, PLOT.top + 2);
      context.lineTo(x(0), PLOT.top - 6);
      context.fill();
      context.textAlign = "left";
      context.fillText(`▲ first token ${ms(values[0])}`, x(0) + 10, PLOT.top + 8 + offset);
    }
  }
  canvas.setAttribute("aria-label", "time per token, " + Object.entries(series).map(([run, values]) =>
    `${CACHE_RUNS[run].label}: ${values.length} tokens` +
    (values.length > 1 ? `, the first ${ms(values[0])}, then ${ms(values[1])} to ${ms(values[values.length - 1])}` :
      "")).join("; "));
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

/* How one run's time per token behaved after the first token, in words, from the server's `trend`. */
function trendWords(label, trend) {
  if (!trend) return `${label}: too few tokens after the first to tell how the time per token changes.`;
  const over = `over ${trend.tokens} tokens after the first`;
  return trend.grows ? `${label} the time per token grew from ${ms(trend.start_s)} to ${ms(trend.end_s)} ${over}.` :
    `${label} it stayed near ${ms(trend.mean_s)} ${over}, with no clear growth.`;
}

/* The verdict, from the measurement: same tokens or not, how much faster each token was, and whether the time per
   token grew with the text in either run (for a small model over few tokens it often does not, measurably). */
function cacheVerdict(result) {
  const withCache = result.with_cache;
  const withoutCache = result.without_cache;
  const threads = `both runs used ${result.threads} BLAS thread${result.threads === 1 ? "" : "s"}`;
  if (result.outcome !== "done" || !withCache || !withoutCache) {
    const kept = withCache?.finished ? "the run with the cache finished and is kept; " : "";
    return element("p", "different", `The request ran out of time: ${kept}compare fewer tokens (${threads}).`);
  }
  const trend = result.trend || {};
  const perToken = (run, runTrend) => runTrend ? runTrend.mean_s : run.seconds / Math.max(1, run.tokens.length);
  const ratio = perToken(withoutCache, trend.without_cache) / Math.max(perToken(withCache, trend.with_cache), 1e-9);
  const speed = ratio >= 1.1 ? `each token was ${ratio.toFixed(1)}× faster with the cache` :
    ratio <= 0.9 ? `each token was ${(1 / ratio).toFixed(1)}× slower with the cache` :
      "each token took about as long with the cache as without";
  const words = [`${result.same_tokens ? "Same tokens" : "Different tokens"} with and without the cache; ${speed} ` +
    `(${threads}).`, trendWords("Without the cache", trend.without_cache),
  trendWords("With the cache", trend.with_cache)];
  if (trend.without_cache && !trend.without_cache.grows) {
    words.push("At this length the fixed cost of each step hides the growing window: compare more tokens to see it.");
  }
  return element("p", result.same_tokens ? "same" : "different", words.join(" "));
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
      if (name === "start") {
        maxTokens = event.max_new_tokens;
        if (event.queue_position > 0) showQueue(event.queue_position);
      }
      if (name === "queue") showQueue(event.queue_position);
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
