"""Take the README's screenshots of the explorer and the demo page (headless Chromium).

Usage (from the repository root, with Debian's chromium and chromium-driver installed)::

    python docs/screenshots.py

The explorer shows the synthetic system of benchmarks/analysis.py on the dev set (with
confidences), and beside it the same system with every tenth answer blank; the demo page is
served by `python -m qa_utils serve --model embedded` (an untrained QA head: its answers are
real but poor). PNGs are reduced to 256 colours to stay small.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.select import Select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.explore_size import CHROMIUM_FLAGS, synthetic_files
from qa_utils.analysis.answer_types import load_spacy
from qa_utils.core.data import resolve_squad_source
from qa_utils.serving.harness import start_service
from qa_utils.workflow.explore import explore, load_inputs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ARTICLE = 7  # Southern_California: 180 questions, short passages


def browser() -> webdriver.Chrome:
    """A headless Chromium at 1280 x 800 with a fresh profile."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    flags = [f for f in CHROMIUM_FLAGS if not f.startswith("--window-size")]
    for flag in (*flags, "--window-size=1280,800", f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def save(driver: webdriver.Chrome, name: str) -> Path:
    """Screenshot the window into docs/NAME.png, reduced to 256 colours."""
    path = DOCS / f"{name}.png"
    driver.save_screenshot(str(path))
    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e3:.0f} KB")
    return path


def wait_ready(driver: webdriver.Chrome, timeout_s: float = 60.0) -> None:
    """Wait until the page script has drawn the page."""
    deadline = time.monotonic() + timeout_s
    while driver.execute_script("return document.body.dataset.ready") != "true":
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not draw")
        time.sleep(0.1)


def explorer_shots(driver: webdriver.Chrome, work: Path) -> None:
    """The index of one system with confidences, and an article page comparing two."""
    dataset = Path(resolve_squad_source("validation"))
    predictions, records, other = synthetic_files(dataset, work)
    nlp = load_spacy()
    single = explore(load_inputs(dataset, predictions, records=records), work / "one", nlp)
    driver.get((single.out / "index.html").as_uri())
    wait_ready(driver)
    save(driver, "explorer_index")
    both = load_inputs(dataset, predictions, compare=other, records=records)
    site = explore(both, work / "two", nlp)
    driver.get((site.out / "articles" / f"{ARTICLE:03d}.html").as_uri())
    wait_ready(driver)
    # answers that overlap the gold one partly show all three highlight colours
    options = Select(driver.find_element("id", "f-slice")).options
    next(o for o in options if o.text.startswith("partial overlap")).click()
    save(driver, "explorer_article")


def demo_shot(driver: webdriver.Chrome, work: Path) -> None:
    """The demo page after asking its example question."""
    service = start_service("embedded", work / "service.log")
    try:
        driver.set_window_size(1280, 1000)  # the answer, the passage and the n-best list
        driver.get(f"{service.url}/")
        wait_ready(driver)
        driver.find_element("id", "ask").click()
        deadline = time.monotonic() + 60
        while not driver.find_element("id", "result").is_displayed():
            if time.monotonic() > deadline:
                raise TimeoutError("no answer on the demo page")
            time.sleep(0.1)
        save(driver, "demo")
    finally:
        service.stop()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="screenshots_"))
    driver = browser()
    try:
        explorer_shots(driver, work)
        demo_shot(driver, work)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
