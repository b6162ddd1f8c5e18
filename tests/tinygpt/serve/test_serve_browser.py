"""The playground page in a real browser: headless Chromium driven by Selenium against `tinygpt serve`'s app, started
on a free loopback port from the tiny `release` checkpoint. Typing a prompt streams coloured tokens; hovering a token
shows its ten alternatives before and after the processors; clicking one opens the decoding explainer; the attention
tab draws a heat map per layer and head; a prompt made of HTML is shown as text; a bad setting names its field.

Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); skipped, saying so, where they are absent.
Every wait is explicit (WebDriverWait with generous timeouts: the machine may be busy), never a fixed sleep.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.helpers import scripted_generate
from tinygpt.code_completion import extract_function
from tinygpt.generate import Completion, end_of_text_id, load_generator
from tinygpt.sandbox import SandboxResult, isolation_problem
from tinygpt.serve import app as app_module
from tinygpt.serve import session
from tinygpt.serve.app import create_app
from tinygpt.serve.worker import StoppableModel
from tinygpt.tasks.verify import VerifiedCompletion

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 60

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")

# Records, in the page, whether the first generated token was drawn while the stream was still open.
WATCH_STREAM = """
window.firstTokenState = null;
const output = document.getElementById("output");
new MutationObserver((changes, observer) => {
  if (output.querySelector(".token")) { window.firstTokenState = output.dataset.state; observer.disconnect(); }
}).observe(output, {childList: true});
"""

INK_PIXELS = """
const canvas = arguments[0];
const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let ink = 0;
for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0 && pixels[i] < 250) ink++;
return ink;
"""


RELEASE_OF: dict[str, Path] = {}  # the server's URL -> its checkpoint


@pytest.fixture(scope="module")
def server(release):
    """The app on a free loopback port, served by uvicorn in a background thread; yields its URL."""
    model, tokenizer = load_generator(release)
    app = create_app(model, tokenizer, model_name="release-fixture")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not uvicorn_server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    RELEASE_OF[url] = release
    yield url
    uvicorn_server.should_exit = True
    thread.join(timeout=WAIT_S)
    listener.close()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def wait(driver, condition, message: str):
    return WebDriverWait(driver, WAIT_S).until(condition, message)


def open_page(driver, url: str) -> None:
    driver.get(url)
    wait(driver, lambda d: "layers" in d.find_element(By.ID, "model-info").text, "the page did not load /api/info")


def fill(driver, field: str, value: str) -> None:
    element = driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(value)


def generate(driver, prompt: str, **settings: str) -> None:
    """Types the prompt and settings, clicks Generate and waits for the `done` event to be drawn."""
    fill(driver, "prompt", prompt)
    for field, value in settings.items():
        fill(driver, field, value)
    driver.find_element(By.ID, "generate").click()
    wait(driver, lambda d: d.find_element(By.ID, "output").get_attribute("data-state") == "done",
         "the generation did not finish")


def test_tokens_stream_in_with_their_alternatives_and_explainer(server, browser):
    open_page(browser, server)
    browser.execute_script(WATCH_STREAM)
    generate(browser, "def add(a, b):", max_new_tokens="16", seed="0", top_k="5")  # the choice is among the top 5
    tokens = browser.find_elements(By.CSS_SELECTOR, "#output .token")
    assert len(tokens) >= 4
    assert browser.execute_script("return window.firstTokenState") == "streaming"  # drawn before `done`

    ActionChains(browser).move_to_element(tokens[1]).perform()
    tooltip = wait(browser, lambda d: d.find_element(By.ID, "tooltip").is_displayed() and d.find_element(
        By.ID, "tooltip"), "hovering a token showed no tooltip")
    before = tooltip.find_elements(By.CSS_SELECTOR, "table.before tr")
    after = tooltip.find_elements(By.CSS_SELECTOR, "table.after tr")  # filtered tokens (p = 0) are not listed
    assert len(before) == 10 and 1 <= len(after) <= 10
    assert all(row.text.strip().endswith("%") for row in before + after)

    tokens[2].click()
    stages = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#explainer .stage"), "no explainer table")
    assert stages[0].find_element(By.TAG_NAME, "h3").text == "0. model"
    assert [stage.find_element(By.TAG_NAME, "h3").text.split("(")[0] for stage in stages][1:] == [
        "1. Temperature", "2. TopKFilter", "3. TopPFilter"]  # sampling's defaults (0.8, 0.95) and top-k, in order
    assert browser.find_element(By.ID, "step").get_attribute("value") == "2"
    assert stages[-1].find_elements(By.CSS_SELECTOR, "tr.chosen")


def test_attention_tab_draws_every_layer_and_head(server, browser):
    open_page(browser, server)
    generate(browser, "import os\n", max_new_tokens="8", seed="1")
    browser.find_element(By.ID, "attention-tab").click()
    maps = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "canvas.heatmap"), "no heat map was drawn")
    assert len(maps) == 2 * 2  # the fixture's n_layer x n_head
    assert all(browser.execute_script(INK_PIXELS, canvas) > 0 for canvas in maps)

    pickers = browser.find_elements(By.CSS_SELECTOR, "#attention-tokens .att-token")
    pickers[2].click()
    assert "query" in pickers[2].get_attribute("class")
    shaded = [span.value_of_css_property("background-color") for span in pickers]
    assert shaded[0] != "rgba(0, 0, 0, 0)"  # token 0 is always attended to from later positions
    assert set(shaded[3:]) <= {"rgba(0, 0, 0, 0)", "rgba(8, 48, 107, 0)"}  # causal: nothing after the query
    maps[3].click()
    assert Select(browser.find_element(By.ID, "attention-head")).first_selected_option.text == "1"
    assert browser.execute_script(INK_PIXELS, browser.find_element(By.ID, "attention-large")) > 0


def test_html_in_the_prompt_is_shown_as_text(server, browser):
    open_page(browser, server)
    prompt = "<img src=x onerror=alert(1)>"
    generate(browser, prompt, max_new_tokens="4")
    output = browser.find_element(By.ID, "output")
    assert prompt[:-1] in output.text  # token healing regenerates the last token, ">"
    assert browser.find_elements(By.CSS_SELECTOR, "#output img, #tooltip img") == []
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (reading it is the check)


def test_controls_follow_the_strategy_and_a_bad_value_names_its_field(server, browser):
    open_page(browser, server)
    strategy = Select(browser.find_element(By.ID, "strategy"))
    strategy.select_by_value("greedy")
    assert not browser.find_element(By.ID, "temperature").is_enabled()
    assert not browser.find_element(By.ID, "num_beams").is_enabled()
    strategy.select_by_value("sample")
    fill(browser, "temperature", "-1")
    browser.find_element(By.ID, "generate").click()
    error = wait(browser, lambda d: d.find_element(By.ID, "error").is_displayed() and d.find_element(By.ID, "error"),
                 "no error message was shown")
    assert "422" in error.text and "temperature" in error.text
    assert "invalid" in browser.find_element(By.ID, "temperature").get_attribute("class")


@pytest.mark.skipif(isolation_problem() is not None, reason="bubblewrap is not available here")
def test_verify_runs_each_candidate_against_the_users_tests(server, browser):
    open_page(browser, server)
    fill(browser, "prompt", "def add(a, b):\n")
    fill(browser, "max_new_tokens", "12")
    browser.find_element(By.ID, "verify-tab").click()
    fill(browser, "verify-candidates", "3")
    fill(browser, "verify-tests", "assert add(2, 3) == 5")
    browser.find_element(By.ID, "verify").click()
    summary = wait(browser, lambda d: d.find_element(By.ID, "verify-summary").text, "verify showed no result")
    rows = browser.find_elements(By.CSS_SELECTOR, "#verify-runs tr")[1:]
    assert 1 <= len(rows) <= 3 and "the tests given" in summary
    assert browser.find_element(By.ID, "output").get_attribute("data-state") == "done"
    statuses = [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows]
    assert all(status in ("passed", "failed", "error", "timeout") for status in statuses), statuses
    assert ("Verified" in summary) == (statuses[-1] == "passed")


PLOT_COLOURS = """
const canvas = document.getElementById("cache-plot");
const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let green = 0, red = 0;
for (let i = 0; i < pixels.length; i += 4) {
  if (pixels[i + 3] < 200) continue;
  if (pixels[i + 1] > 120 && pixels[i] < 60) green++;
  if (pixels[i] > 180 && pixels[i + 1] < 60) red++;
}
return [green, red];
"""


def test_a_comparison_is_plotted_and_a_second_request_wipes_nothing(server, browser):
    open_page(browser, server)
    Select(browser.find_element(By.ID, "strategy")).select_by_value("greedy")
    generate(browser, "def add(a, b):", max_new_tokens="24")
    drawn = browser.find_element(By.ID, "output").text
    browser.execute_script("compareCache(); generate(); verifyRun();")  # the last two are turned away by the page
    verdict = wait(browser, lambda d: d.find_elements(By.ID, "cache-verdict") and d.find_element(
        By.ID, "cache-verdict"), "the comparison showed no verdict")
    assert "Same tokens" in verdict.text and "BLAS thread" in verdict.text
    assert ("grew from" in verdict.text) != ("no clear growth" in verdict.text.split("With the cache")[0])
    assert "with KV cache" in browser.find_element(By.ID, "cache-legend").text
    assert "time per token" in browser.find_element(By.ID, "cache-plot").get_attribute("aria-label")
    assert browser.find_element(By.ID, "error").is_displayed() is False  # no 429 shown
    assert browser.find_element(By.ID, "output").text == drawn  # the output of the generation is still there
    green, red = browser.execute_script(PLOT_COLOURS)
    assert green > 20 and red > 20  # a line per run: with the cache and without
    assert browser.find_element(By.ID, "generate").is_enabled() and not browser.find_element(
        By.ID, "stop-button").is_enabled()


def test_the_cache_verdict_states_what_was_measured(server, browser):
    open_page(browser, server)
    scale = browser.execute_script("return cacheScale({with_cache: [0.5, 0.010, 0.012], "
                                   "without_cache: [0.6, 0.020, 0.022]})")
    assert scale["top"] < 0.05 and scale["offScale"]  # the prefill does not squash the plot
    run = {"seconds": 0.3, "tokens": [1] * 9, "text": "", "finished": True}
    flat = {"start_s": 0.02, "end_s": 0.021, "mean_s": 0.02, "tokens": 8, "prefill_s": 0.1, "grows": False}
    event = {"with_cache": run, "without_cache": run, "threads": 1, "outcome": "done", "same_tokens": True,
             "trend": {"with_cache": {**flat, "mean_s": 0.01}, "without_cache": flat}}
    verdict = browser.execute_script("return cacheVerdict(arguments[0]).textContent", event)
    assert "stayed near 20.0 ms" in verdict and "grew" not in verdict and "grows with the text" not in verdict
    event["trend"]["without_cache"] = {**flat, "end_s": 0.04, "grows": True}
    verdict = browser.execute_script("return cacheVerdict(arguments[0]).textContent", event)
    assert "grew from 20.0 ms to 40.0 ms over 8 tokens" in verdict


def test_beam_search_shows_every_step_kept_and_pruned(server, browser):
    open_page(browser, server)
    Select(browser.find_element(By.ID, "strategy")).select_by_value("beam")
    generate(browser, "def add(a, b):", max_new_tokens="5", num_beams="3")
    steps = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#beam-steps details"), "no beam steps shown")
    assert 1 <= len(steps) <= 5 and steps[0].find_element(By.TAG_NAME, "summary").text.startswith("step 0")
    fates = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#beam-steps tr[data-status]")]
    assert any("kept as beam" in fate for fate in fates) and any("pruned" in fate for fate in fates)
    assert "-inf" not in browser.find_element(By.ID, "beams").text
    so_far = browser.execute_script(
        "return [...document.querySelectorAll('#beam-steps tr[data-status] td:nth-child(2)')].map(c => c.textContent)")
    assert so_far and all(text.strip() for text in so_far)  # whitespace and the empty start are shown, not blank
    text_column = browser.find_element(By.CSS_SELECTOR, "#beams td.sequence-text")
    assert text_column.size["width"] >= 400

    tokens = browser.find_elements(By.CSS_SELECTOR, "#output .token.untraced")  # the best beam, token by token
    assert len(tokens) == browser.execute_script("return state.pieces.length") >= 1
    ActionChains(browser).move_to_element(tokens[0]).perform()
    tooltip = wait(browser, lambda d: d.find_element(By.ID, "tooltip").is_displayed() and d.find_element(
        By.ID, "tooltip"), "hovering a beam's token showed nothing")
    assert "beam search" in tooltip.text
    assert "Beam search keeps several sequences" in browser.find_element(By.ID, "step-summary").get_attribute(
        "textContent")  # the explainer, on its hidden tab, says why it has nothing


def byte_tokens(tokenizer, text: str) -> list[int]:
    byte_id = {tokenizer.token_bytes[i]: i for i in range(256)}
    return [byte_id[bytes([byte])] for byte in text.encode("utf-8")]


def test_non_ascii_text_streams_whole_characters_and_the_count_is_what_is_shown(server, browser, monkeypatch):
    tokenizer = load_generator(RELEASE_OF[server])[1]
    tokens = byte_tokens(tokenizer, "grüß(") + [end_of_text_id(tokenizer)]
    monkeypatch.setattr(session, "generate", scripted_generate(tokens))
    open_page(browser, server)
    generate(browser, "def ", max_new_tokens="8")
    output = browser.find_element(By.ID, "output")
    spans = output.find_elements(By.CSS_SELECTOR, ".token")
    assert output.get_attribute("textContent").endswith("grüß(") and "\ufffd" not in output.text
    assert len(spans) == 7 and all(span.size["width"] > 0 for span in spans)  # a half character is a thin box
    assert browser.find_element(By.ID, "stats").text.startswith("7 tokens + end-of-text in ")


def test_stop_leaves_what_was_generated_inspectable(server, browser, monkeypatch):
    decode = StoppableModel.decode  # each token's pass through the KV cache
    monkeypatch.setattr(StoppableModel, "decode", lambda self, *args, **kwargs: (
        time.sleep(0.05), decode(self, *args, **kwargs))[1])  # slow enough to stop half-way
    open_page(browser, server)
    fill(browser, "prompt", "def add(a, b):")
    fill(browser, "max_new_tokens", "300")
    browser.find_element(By.ID, "generate").click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#output .token")) >= 4, "no tokens streamed")
    browser.find_element(By.ID, "stop-button").click()
    wait(browser, lambda d: d.find_element(By.ID, "output").get_attribute("data-state") == "stopped", "not stopped")
    spans = browser.find_elements(By.CSS_SELECTOR, "#output .token")
    assert browser.find_element(By.ID, "stats").text.startswith(f"stopped after {len(spans)} tokens")
    assert browser.find_elements(By.CSS_SELECTOR, "#explainer .stage")  # the first step is explained
    ActionChains(browser).move_to_element(spans[1]).perform()
    wait(browser, lambda d: d.find_element(By.ID, "tooltip").is_displayed(), "a stopped token has no tooltip")
    browser.find_element(By.ID, "attention-tab").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "canvas.heatmap"), "no attention after Stop")
    seen = browser.execute_script("return Math.min(state.promptIds.length + state.tokens.length, "
                                  "state.info.model.block_size)")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#attention-tokens .att-token")) == seen


def test_verify_shows_the_completion_after_the_typed_prompt_and_says_what_was_checked(server, browser, monkeypatch):
    completion = Completion("def add(a, b):", "\n    return a + b\n", [1, 2], "function_end", None,
                            extract_function("def add(a, b):", "\n    return a + b\n", end_of_file=True))
    checks = ("the structural checks: it compiles, defines `add` and its module-level code runs (no examples to test "
              "against)")
    found = VerifiedCompletion(completion, True, 1, checks, [SandboxResult("passed", "ran to the end", "", 0)], "runs",
                               "add", [completion])
    monkeypatch.setattr(app_module, "verify", lambda *args, **kwargs: found)
    open_page(browser, server)
    fill(browser, "prompt", "def add(a, b):\n")
    browser.find_element(By.ID, "verify-tab").click()
    assert "16" in browser.find_element(By.ID, "verify-cap").text  # the server's cap, shown
    assert browser.find_element(By.ID, "verify-runs").get_attribute("hidden") is not None  # no empty table
    fill(browser, "verify-candidates", "17")
    browser.find_element(By.ID, "verify").click()
    wait(browser, lambda d: d.find_element(By.ID, "error").is_displayed(), "17 candidates were not refused")
    assert "invalid" in browser.find_element(By.ID, "verify-candidates").get_attribute("class")
    fill(browser, "verify-candidates", "2")
    browser.find_element(By.ID, "verify").click()
    summary = wait(browser, lambda d: d.find_element(By.ID, "verify-summary").text, "verify showed no result")
    assert summary.startswith("The prompt has no >>> examples and no tests were given, so candidates were only "
                              "checked to compile, define `add` and run") and summary.count(". ") == 0
    output = browser.find_element(By.ID, "output").get_attribute("textContent")
    assert output == "def add(a, b):\n    return a + b\n"  # no blank line where the healed token was
    rows = browser.find_elements(By.CSS_SELECTOR, "#verify-runs tr")[1:]
    assert len(rows) == 1 and "return a + b" in rows[0].get_attribute("textContent")


def test_the_page_says_what_it_is_and_works_from_the_keyboard(server, browser):
    open_page(browser, server)
    assert "Ctrl+Enter" in browser.find_element(By.ID, "intro").text
    assert browser.find_element(By.ID, "status").get_attribute("aria-live") == "polite"
    for tab in browser.find_elements(By.CSS_SELECTOR, "[role=tablist] [role=tab]"):
        panel = browser.find_element(By.ID, tab.get_attribute("aria-controls"))
        assert panel.get_attribute("role") == "tabpanel"
        assert panel.get_attribute("aria-labelledby") == tab.get_attribute("id")
    browser.find_element(By.ID, "explainer-tab").send_keys(Keys.ARROW_RIGHT)
    assert browser.switch_to.active_element.get_attribute("id") == "attention-tab"
    assert browser.find_element(By.ID, "attention-tab").get_attribute("aria-selected") == "true"
    assert browser.find_element(By.ID, "attention-panel").is_displayed()
    browser.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    assert browser.find_element(By.ID, "explainer-panel").is_displayed()

    generate(browser, "x = 1\n" * 20 + "def add(a, b):", max_new_tokens="40", seed="0")
    output = browser.find_element(By.ID, "output")
    bottom = browser.execute_script("const o = arguments[0]; return [o.scrollTop + o.clientHeight, o.scrollHeight]",
                                    output)
    assert bottom[0] >= bottom[1] - 30  # the box followed the stream
    assert len(browser.find_elements(By.CSS_SELECTOR, "#output .token[tabindex='0']")) == 1  # one Tab stop
    first = browser.find_element(By.CSS_SELECTOR, "#output .token[tabindex='0']")
    browser.execute_script("arguments[0].focus()", first)
    first.send_keys(Keys.ARROW_RIGHT)
    assert browser.switch_to.active_element.get_attribute("data-index") == "1"
    wait(browser, lambda d: d.find_element(By.ID, "tooltip").is_displayed(), "a focused token shows no tooltip")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert not browser.find_element(By.ID, "tooltip").is_displayed()
