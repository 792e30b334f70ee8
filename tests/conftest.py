"""Shared test setup: offline, headless, small fixtures, a real browser for the page tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib
import pytest
import torch
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait
from transformers import BertConfig, BertForQuestionAnswering

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
matplotlib.use("Agg")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """The folder of small data files we wrote for the tests."""
    return FIXTURES


def build_tiny_bert(seed: int = 0, max_positions: int = 128) -> BertForQuestionAnswering:
    """A 2-layer, 4-head BERT with the embedded tokenizer's vocabulary, built in milliseconds."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=256,
        max_position_embeddings=max_positions,
    )
    return BertForQuestionAnswering(config).eval()


@pytest.fixture(scope="session")
def tiny_bert() -> Callable[..., BertForQuestionAnswering]:
    """`build_tiny_bert`, for tests that need fresh tiny models (seed as argument)."""
    return build_tiny_bert


@pytest.fixture(scope="module")
def model(tiny_bert: Callable[..., BertForQuestionAnswering]) -> BertForQuestionAnswering:
    """One tiny BERT per test module (seed 0)."""
    return tiny_bert()


@pytest.fixture(scope="session")
def train_features():
    """Training windows of the mini fixture, 96 tokens with stride 32."""
    from qa_utils.core.data import load_squad
    from qa_utils.core.features import build_train_features
    from qa_utils.core.model import load_tokenizer

    examples = load_squad(FIXTURES / "mini_squad.json")
    return build_train_features(examples, load_tokenizer("embedded"), max_length=96, doc_stride=32)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tag nbval's notebook cells with the `notebooks` marker (they carry none of their own)."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium's own background connections are refused on a closed network
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


def browser_binaries() -> tuple[str, str] | None:
    """Paths of a Chromium and its chromedriver on PATH (Debian: chromium, chromium-driver)."""
    binary = next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


class Browser:
    """A headless Chromium driven by Selenium, with the waits and checks the page tests use."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    def open(self, url: str) -> None:
        """Load a page and wait until its script says it is drawn (body[data-ready])."""
        self.driver.get_log("browser")  # drop earlier pages' messages: errors() is this page's
        self.driver.get(url)
        self.wait_for(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))

    def wait_for(self, condition: Callable, timeout_s: float = 60.0):
        """Wait until `condition(driver)` is truthy; return its value."""
        return WebDriverWait(self.driver, timeout_s).until(condition)

    def all(self, css: str) -> list[WebElement]:
        """The displayed elements matching a CSS selector."""
        return [e for e in self.driver.find_elements("css selector", css) if e.is_displayed()]

    def one(self, css: str) -> WebElement:
        """The one element matching a CSS selector."""
        return self.driver.find_element("css selector", css)

    def errors(self) -> list[str]:
        """Messages of the page's console errors since the last call (scripts that failed)."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, path: Path) -> Path:
        """Save what the browser shows as a PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        assert self.driver.save_screenshot(str(path)), f"no screenshot written to {path}"
        return path


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium for the session; skipped only where none is installed.

    `.ci/run` installs Debian's chromium and chromium-driver and sets QA_REQUIRE_BROWSER=1, so
    that in CI a missing browser fails instead of skipping.
    """
    found = browser_binaries()
    if found is None:
        message = (
            "no Chromium with chromedriver on PATH: install Debian's chromium and "
            "chromium-driver (`make browser`, as root) to run the browser tests"
        )
        if os.environ.get("QA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"QA_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(found[1]))
    try:
        yield Browser(driver)
    finally:
        driver.quit()
