"""A screenshot of the playground (`tinygpt serve`) for the README, taken by headless Chromium.

    python tools/screenshot.py [--checkpoint models/tinygpt-finish/model.safetensors]
                                    [--prompt "def fibonacci(n):"] [--output docs/playground.png]
                                    [--url http://127.0.0.1:8000]

Starts the app on a free loopback port with the checkpoint (or uses the server at --url), generates from the prompt,
opens the attention view with the last generated token picked, hovers a token so that its alternatives show, and saves
the page as a PNG 1280 pixels wide (as tall as the page). Needs Debian's `chromium` and `chromium-driver` and
`selenium` (the `test` extra).
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tinygpt.generate import DEFAULT_CHECKPOINT

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 300  # generating on a busy CPU


@contextmanager
def serving(checkpoint: Path, tokenizer: Path | None) -> Iterator[str]:
    """The playground for `checkpoint` on a free loopback port, in a background thread; yields its URL."""
    import uvicorn

    from tinygpt.generate import load_generator
    from tinygpt.serve.app import create_app

    model, tokenizer_ = load_generator(checkpoint, tokenizer)
    app = create_app(model, tokenizer_, model_name=checkpoint.parent.name)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server stopped while starting; see the log above")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def chromium(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def until(driver: webdriver.Chrome, condition, what: str):
    return WebDriverWait(driver, WAIT_S).until(condition, f"timed out waiting for {what}")


def fill(driver: webdriver.Chrome, field: str, value: str) -> None:
    element = driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(value)


def take(driver: webdriver.Chrome, url: str, args: argparse.Namespace) -> None:
    driver.get(url)
    until(driver, lambda d: "layers" in d.find_element(By.ID, "model-info").text, "the model information")
    fill(driver, "prompt", args.prompt)
    fill(driver, "max_new_tokens", str(args.max_new_tokens))
    fill(driver, "seed", str(args.seed))
    driver.find_element(By.ID, "generate").click()
    until(driver, lambda d: d.find_element(By.ID, "output").get_attribute("data-state") == "done", "the generation")
    driver.find_element(By.ID, "attention-tab").click()
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "canvas.heatmap"), "the attention maps")
    driver.find_elements(By.CSS_SELECTOR, "#attention-tokens .att-token")[-1].click()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {  # the viewport, exactly: the whole page
        "width": args.width, "height": max(args.height, height), "deviceScaleFactor": 1, "mobile": False})
    driver.execute_script("window.scrollTo(0, 0)")
    tokens = driver.find_elements(By.CSS_SELECTOR, "#output .token")
    ActionChains(driver).move_to_element(tokens[min(len(tokens) - 1, args.hover)]).perform()
    until(driver, lambda d: d.find_element(By.ID, "tooltip").is_displayed(), "the tooltip")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(args.output))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--tokenizer", type=Path, help="(default: tokenizer.json next to the checkpoint)")
    parser.add_argument("--url", help="screenshot this running server instead of starting one")
    parser.add_argument("--prompt", default="def fibonacci(n):")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hover", type=int, default=6, help="index of the generated token to hover")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800, help="at least; the page's own height if taller")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "playground.png")
    args = parser.parse_args(argv)
    driver = chromium(args.width, args.height)
    try:
        if args.url:
            take(driver, args.url, args)
        else:
            with serving(args.checkpoint, args.tokenizer) as url:
                take(driver, url, args)
    finally:
        driver.quit()
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
