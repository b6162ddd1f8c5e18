/* Verify (POST /api/verify): candidates generated and run in the sandbox against the prompt's examples or the
   user's asserts; the page shows the completion kept right after the prompt as typed, one sentence saying what was
   checked and what came of it, and each candidate tried with its verdict, why, and its code. */
"use strict";

const VERIFY_FIELDS = { candidates: "verify-candidates", tests: "verify-tests", prompt: "prompt",
  max_new_tokens: "max_new_tokens", seed: "seed" }; // the request's fields -> the inputs they come from

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

/* The completion after the prompt as the user typed it: the model read the prompt without its last token (token
   healing) and wrote that token again, so the text is cut where the typed prompt ends. */
function showCompletion(typed, result) {
  const whole = result.prompt + result.text;
  const [prompt, added] = whole.startsWith(typed) ? [typed, whole.slice(typed.length)] : [result.prompt, result.text];
  $("output").append(element("span", "prompt-token", prompt), element("span", "plain", added));
  $("output").scrollTop = 0; // a finished result, read from its start
  $("output").dataset.state = "done";
}

/* One sentence: what the candidates were checked against, and what came of it. */
function verifySummary(result, testsGiven) {
  const seconds = `${result.seconds.toFixed(1)} s`;
  const plural = result.tried === 1 ? "" : "s";
  if (result.level === "runs") {
    const why = testsGiven ? "The tests given hold no statement" :
      "The prompt has no >>> examples and no tests were given";
    const what = result.name ? `compile, define \`${result.name}\` and run` : "compile and run";
    const outcome = result.verified ? `candidate ${result.tried} of ${result.tried} did (${seconds}).` :
      `none of the ${result.tried} did (${seconds}); the first (greedy) one is shown.`;
    return `${why}, so candidates were only checked to ${what}, not tested for what they do: ${outcome}`;
  }
  if (result.verified) {
    const before = result.tried > 1 ? `; the ${result.tried - 1} before it did not` : "";
    return `Verified in ${seconds}: candidate ${result.tried} passed ${result.checks}${before}.`;
  }
  return `Not verified (${seconds}): none of the ${result.tried} candidate${plural} passed ${result.checks}; the ` +
    "first (greedy) one is shown.";
}

function candidateRow(run, index) {
  const row = element("tr", run.status === "passed" ? "passed" : "");
  const code = element("details", "candidate-code");
  code.append(element("summary", "", "code"), element("pre", "beam-text", run.code));
  const codeCell = element("td");
  codeCell.appendChild(code);
  row.append(element("td", "num", index + 1), element("td", "", run.confined ? run.status :
    `${run.status} (unconfined)`), element("td", "reason", run.reason), codeCell);
  return row;
}

function showVerified(typed, result, testsGiven) {
  showCompletion(typed, result);
  showFunction(result.function);
  $("verify-summary").textContent = verifySummary(result, testsGiven);
  const head = element("tr");
  head.append(element("th", "", "#"), element("th", "", "result"), element("th", "", "why"),
    element("th", "", "candidate"));
  $("verify-runs").replaceChildren(head, ...result.results.map(candidateRow));
  $("verify-runs").hidden = result.results.length === 0;
  setStatus(`${result.verified ? "verified" : "not verified"} in ${result.seconds.toFixed(1)} s`, "done");
}

async function verifyRun() {
  const controller = beginRequest();
  if (!controller) return;
  openTab("verify-panel");
  setStatus("generating and checking candidates…", "waiting");
  const body = verifyBody();
  try {
    const response = await fetch("/api/verify", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), signal: controller.signal,
    });
    if (!response.ok) {
      await showHttpError(response, VERIFY_FIELDS);
      return;
    }
    resetOutput();
    $("verify-summary").textContent = "";
    $("verify-runs").replaceChildren();
    $("verify-runs").hidden = true;
    showVerified(body.prompt, await response.json(), body.tests !== undefined);
  } catch (err) {
    if (err.name === "AbortError") setStatus("stopped", "stopped");
    else showError(`Verify failed: ${err.message}`);
  } finally {
    endRequest(controller);
  }
}
