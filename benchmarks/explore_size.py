"""Time the explorer on the full dev set and measure its pages: generation, sizes, drawing.

Usage (from the repository root)::

    python -m benchmarks.explore_size [--predictions P.json [--records R.parquet]]
        [--compare OTHER.json] [--repeat 3] [--out DIR]

Without --predictions, the synthetic system of benchmarks/analysis.py is made from the dev set
(gold for 70% of questions, a shifted span for 20%, a random one for 10%, with confidences
written as a records file), and the second system for --compare is the same with every tenth
answer blank. Three runs of the `explore` command's path (`load_inputs` + `explore`, spaCy
loaded inside the timing as the command does) are timed --repeat times each (median): one
system with the rule-based answer types, one with records and spaCy, two systems with spaCy.
Then the pages of the last site are measured, and where Debian's chromium and chromedriver
are installed, the index and the largest article page are opened in headless Chromium and
the time from navigation to the end of the load event (the page script draws before it) is
read from the browser's navigation timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.analysis import blank_tenth, synthetic_predictions
from qa_utils.analysis.answer_types import load_spacy
from qa_utils.core.data import load_squad, resolve_squad_source
from qa_utils.core.records import build_records
from qa_utils.project.io import atomic_write_json, atomic_write_table
from qa_utils.workflow.explore import Site, explore, load_inputs

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
)  # fmt: skip


LOAD_END = "return performance.getEntriesByType('navigation')[0].loadEventEnd"


def synthetic_files(dataset: Path, folder: Path) -> tuple[Path, Path, Path]:
    """predictions.json, records.parquet (with confidences) and other.json of a synthetic system."""
    examples = load_squad(str(dataset))
    predictions, confidences = synthetic_predictions(examples, seed=0)
    table = build_records(examples, predictions).table
    table["confidence"] = table["id"].map(confidences)
    paths = folder / "predictions.json", folder / "records.parquet", folder / "other.json"
    atomic_write_json(paths[0], predictions)
    atomic_write_table(paths[1], table)
    atomic_write_json(paths[2], blank_tenth(predictions))
    return paths


def timed_site(args: argparse.Namespace, out: Path, spacy: bool, records: bool, compare: bool):
    """One run of the command's path; returns (wall seconds, CPU seconds, Site).

    CPU time (this process) is shown beside wall time because the machine is shared: wall
    time there measures the other jobs as much as this one.
    """
    started, cpu = time.perf_counter(), time.process_time()
    inputs = load_inputs(
        args.dataset,
        args.predictions,
        args.compare if compare else None,
        args.records if records else None,
    )
    site = explore(inputs, out, load_spacy() if spacy else None)
    return time.perf_counter() - started, time.process_time() - cpu, site


def kb(size: float) -> str:
    """Bytes as kilobytes, for the table."""
    return f"{size / 1e3:,.0f} KB"


def size_lines(site: Site) -> list[str]:
    """The site's sizes: all, the index, the shared files and the article pages."""
    pages = sorted(site.article_bytes())
    largest = max(range(len(pages)), key=lambda i: site.article_bytes()[i])
    index = site.sizes["index.html"] + site.sizes["data/index.js"]
    shared = site.sizes["app.js"] + site.sizes["style.css"]
    return [
        f"site: {len(site.sizes)} files, {site.total_bytes / 1e6:.1f} MB "
        f"({site.articles} articles, {site.questions:,} questions)",
        f"index page + its data: {kb(index)}; app.js + style.css (loaded once, cached): "
        f"{kb(shared)}",
        f"article page + its data: median {kb(statistics.median(pages))}, smallest "
        f"{kb(pages[0])}, largest {kb(pages[-1])} (articles/{largest:03d}.html)",
    ]


def draw_times(site: Site) -> list[str]:
    """Milliseconds from navigation to a drawn page in headless Chromium, if installed."""
    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver_path):
        return ["browser: skipped (no chromium with chromedriver on PATH)"]
    # selenium only matters here, and only where a browser is installed
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    largest = max(range(site.articles), key=lambda i: site.article_bytes()[i])
    lines = []
    try:
        for page in ("index.html", f"articles/{largest:03d}.html"):
            times = []
            for _ in range(3):
                driver.get((site.out / page).as_uri())
                # the page script draws before the load event: its end, in ms from navigation
                times.append(driver.execute_script(LOAD_END))
            cards = driver.execute_script("return document.querySelectorAll('article.qa').length")
            drawn = f", {cards} question cards" if cards else ""
            lines.append(f"browser: {page} drawn in {statistics.median(times):.0f} ms{drawn}")
    finally:
        driver.quit()
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=None, help="default: the dev set")
    parser.add_argument("--predictions", type=Path, help="default: a synthetic system")
    parser.add_argument("--records", type=Path, help="records.parquet of --predictions")
    parser.add_argument("--compare", type=Path, help="second prediction file")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each configuration")
    parser.add_argument("--out", type=Path, default=None, help="where the sites go (temp)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    args.dataset = args.dataset or Path(resolve_squad_source("validation"))
    work = Path(args.out or tempfile.mkdtemp(prefix="explore_size_"))
    if args.predictions is None:
        args.predictions, args.records, args.compare = synthetic_files(args.dataset, work)
        source = "synthetic system (benchmarks/analysis.py), records with confidences"
    else:
        source = str(args.predictions)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; python {platform.python_version()}"
    )
    print(f"dataset: {args.dataset.name}; predictions: {source}")
    runs = [
        ("one system, rule-based answer types (--no-spacy)", False, False, False),
        ("one system + records, spaCy answer types", True, args.records is not None, False),
        ("two systems (--compare) + records, spaCy", True, args.records is not None, True),
    ]
    site = None
    for name, spacy, records, compare in runs:
        if compare and args.compare is None:
            continue
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu, site = timed_site(args, work / "site", spacy, records, compare)
            walls.append(wall)
            cpus.append(cpu)
        shown = ", ".join(f"{s:.1f}" for s in walls)
        print(
            f"generation, {name}: median {statistics.median(walls):.1f} s wall ({shown}), "
            f"{statistics.median(cpus):.1f} s CPU"
        )
    assert site is not None
    print("\n".join(size_lines(site) + draw_times(site)))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
