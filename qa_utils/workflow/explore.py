"""The prediction explorer: a static site that shows every question beside a system's answer.

    python -m qa_utils explore DATASET PREDICTIONS --out DIR [--compare OTHER] [--records R]

The site opens from disk (file://): no server, nothing fetched from the internet::

    DIR/index.html          articles with question counts and EM/F1 [95% CI]; EM/F1 by slice
    DIR/articles/NNN.html   one page per article: each paragraph's questions, gold answers and
                            the answer highlighted in the passage; filters and sorting
    DIR/data/NNN.js         that article's questions; DIR/data/index.js the index's numbers
    DIR/app.js, style.css   the pages' script and style (package data in `explorer/`)

Browsers refuse fetch() of file:// URLs, so a page loads its data as a <script>
(`window.EXPLORER_DATA = {...}`); one article per page keeps every page small. The page script
puts text into the page as text nodes only (passages hold <, & and quotes). Everything shown
comes from the per-example table (`core.records.build_records`), the analysis' slices and
answer types (`analysis.slicing.add_features`) and its intervals (`analysis.tables`).
"""

from __future__ import annotations

import html
import json
import math
import shutil
import statistics
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from qa_utils.analysis.answer_types import ANSWER_TYPES
from qa_utils.analysis.slicing import ERROR_CATEGORIES, SLICES, add_features
from qa_utils.analysis.tables import (
    InputFileError,
    compare_tables,
    load_dataset,
    load_predictions,
    load_records,
    merge_records,
    overall_metrics,
    slice_metrics,
)
from qa_utils.core.records import ScoredTable, build_records
from qa_utils.project.io import atomic_write_text

if TYPE_CHECKING:
    from spacy.language import Language

ASSETS = Path(__file__).with_name("explorer")
"""The page template, script and style copied into every site."""


STATIC_FILES = ("app.js", "style.css")


METRIC_KEYS = ("n", "em", "em_low", "em_high", "f1", "f1_low", "f1_high")


@dataclass(frozen=True)
class Inputs:
    """What the explorer shows: each system's per-example table and the names to show."""

    names: list[str]
    scored: list[ScoredTable]
    dataset: str


@dataclass
class Site:
    """What `write_site` wrote: the folder and the size of every file, by relative path."""

    out: Path
    articles: int
    questions: int
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        """Size of the whole site."""
        return sum(self.sizes.values())

    def article_bytes(self) -> list[int]:
        """Bytes a browser loads for each article page: its HTML and its data script."""
        pages = sorted(p for p in self.sizes if p.startswith("articles/"))
        return [self.sizes[p] + self.sizes[f"data/{Path(p).stem}.js"] for p in pages]


def system_names(paths: Sequence[Path]) -> list[str]:
    """File names to label the systems; parent/name where two files share a name."""
    names = [p.name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [f"{p.parent.name}/{p.name}" if p.parent.name else str(p) for p in paths]


def only_answered(examples: Any, predictions: dict[str, str]) -> Any:
    """The examples that have a prediction (a run that evaluated a subset of the dev set)."""
    keep = [i for i, qid in enumerate(examples["id"]) if qid in predictions]
    return examples.select(keep)


def load_inputs(
    dataset: Path,
    predictions: Path,
    compare: Path | None = None,
    records: Path | None = None,
    only_predicted: bool = False,
) -> Inputs:
    """Read the dataset and prediction files into per-example tables (raises InputFileError).

    Args:
        dataset: SQuAD v1.1 JSON.
        predictions: an official-format prediction file {id: text}.
        compare: a second prediction file, shown beside the first.
        records: our records.parquet for `predictions`: confidences and exact spans.
        only_predicted: keep only the questions `predictions` answers (else missing ones
            score 0, like the official script).
    """
    examples = load_dataset(dataset)
    first = load_predictions(predictions)
    if only_predicted:
        examples = only_answered(examples, first)
    if len(examples) == 0:
        raise InputFileError(f"{predictions}: no question of {dataset} to show")
    scored = [build_records(examples, first)]
    if records is not None:
        scored[0].table = merge_records(scored[0].table, load_records(records))
    if compare is not None:
        scored.append(build_records(examples, load_predictions(compare)))
    for system in scored:  # a question the file leaves out is not one it left unanswered
        system.table["missing"] = system.table["id"].isin(set(system.missing_ids))
    paths = [predictions] + ([compare] if compare is not None else [])
    return Inputs(system_names(paths), scored, Path(dataset).name)


def featured_tables(tables: Sequence[pd.DataFrame], nlp: Language | None) -> list[pd.DataFrame]:
    """`add_features` on every system's table in one call (each answer string typed once)."""
    windows = tables[0]["n_windows"]
    # Windows per context are a property of the question, known from our records only:
    # every system gets the first one's, so that the slices of a question agree.
    joined = pd.concat([t.assign(n_windows=windows.to_numpy()) for t in tables], ignore_index=True)
    featured = add_features(joined, nlp)
    size = len(tables[0])
    return [
        featured.iloc[i * size : (i + 1) * size].reset_index(drop=True) for i in range(len(tables))
    ]


def number(value: Any, digits: int = 2) -> float | None:
    """A JSON-safe rounded number; None for NaN or a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def answer_entry(row: dict[str, Any]) -> dict[str, Any]:
    """One system's answer to one question, as the page script reads it."""
    return {
        "text": row["prediction"],
        "start": int(row["pred_start"]),
        "end": int(row["pred_end"]),
        "em": number(row["em"], 0),
        "f1": number(row["f1"]),
        "confidence": number(row["confidence"], 4),
        "type": str(row["pred_type"]),
        "error": str(row["error_category"]),
        "missing": bool(row["missing"]),
    }


def question_entry(rows: Sequence[dict[str, Any]], slices: Sequence[str]) -> dict[str, Any]:
    """One question with its gold answers, slices and every system's answer."""
    first = rows[0]
    return {
        "id": first["id"],
        "question": first["question"],
        "gold": [
            [str(t), int(s)]
            for t, s in zip(first["gold_answers"], first["gold_starts"], strict=True)
        ],
        "type": str(first["gold_type"]),
        "slices": {column: str(first[column]) for column in slices},
        "answers": [answer_entry(row) for row in rows],
    }


def slice_columns(table: pd.DataFrame) -> list[str]:
    """The analysis slices this table has (the rare-word and windows slices need extra data)."""
    return [c for c in SLICES if c in table and c != "gold_type"]


def slice_values(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Each slice's readable name and its values in their meaningful order (bins ascending)."""
    return {
        c: {"name": SLICES[c], "values": [str(v) for v in table[c].cat.categories]}
        for c in slice_columns(table)
    }


QUESTION_COLUMNS = (
    "id",
    "title",
    "question",
    "context",
    "gold_answers",
    "gold_starts",
    "gold_type",
)


ANSWER_COLUMNS = (
    "prediction", "pred_start", "pred_end", "em", "f1", "confidence", "pred_type", "error_category",
    "missing",
)  # fmt: skip


def article_questions(featured: Sequence[pd.DataFrame]) -> dict[str, list[dict[str, Any]]]:
    """Paragraphs of each article (dataset order), each with its questions' entries."""
    slices = slice_columns(featured[0])
    columns = [*QUESTION_COLUMNS, *slices, *ANSWER_COLUMNS]
    rows = [t[columns].to_dict("records") for t in featured]
    articles: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for i, row in enumerate(rows[0]):
        paragraphs = articles.setdefault(row["title"], {})
        entry = question_entry([system[i] for system in rows], slices)
        paragraphs.setdefault(row["context"], []).append(entry)
    return {
        title: [{"context": c, "questions": qs} for c, qs in paragraphs.items()]
        for title, paragraphs in articles.items()
    }


def page_name(position: int) -> str:
    """File stem of the article at `position` (dataset order)."""
    return f"{position:03d}"


def metrics_of(row: pd.Series | dict[str, Any]) -> dict[str, Any]:
    """Count, EM and F1 with their interval, rounded for the page."""
    return {k: int(row[k]) if k == "n" else number(row[k]) for k in METRIC_KEYS}


def per_article_metrics(table: pd.DataFrame, n_resamples: int, seed: int) -> dict[str, dict]:
    """EM/F1 with 95% bootstrap intervals of each article, by title."""
    rows = slice_metrics(table, ["title"], n_resamples, seed, min_size=0)
    return {row["value"]: metrics_of(row) for row in rows.to_dict("records")}


def differing(featured: Sequence[pd.DataFrame]) -> pd.Series:
    """Whether the systems' answer texts differ, per question (False with one system)."""
    if len(featured) < 2:
        return pd.Series(False, index=featured[0].index)
    return featured[0]["prediction"].str.strip() != featured[1]["prediction"].str.strip()


def article_rows(
    featured: Sequence[pd.DataFrame], titles: Sequence[str], n_resamples: int, seed: int
) -> list[dict[str, Any]]:
    """The index's row of each article: page, counts, each system's EM/F1 [95% CI]."""
    per_system = [per_article_metrics(t, n_resamples, seed) for t in featured]
    table = featured[0].assign(differ=differing(featured))
    groups = table.groupby("title", sort=False)
    return [
        {
            "title": title,
            "page": f"articles/{page_name(i)}.html",
            "questions": int(groups.size()[title]),
            "paragraphs": int(groups["context"].nunique()[title]),
            "differ": int(groups["differ"].sum()[title]),
            "systems": [metrics[title] for metrics in per_system],
        }
        for i, title in enumerate(titles)
    ]


def index_payload(
    inputs: Inputs,
    featured: Sequence[pd.DataFrame],
    titles: Sequence[str],
    typing: str,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Everything the index page shows, from the featured per-example tables."""
    comparison = None
    if len(featured) > 1:
        rows = compare_tables(featured[0], featured[1], n_resamples, seed).to_dict("records")
        comparison = [{k: v if k == "metric" else number(v, 4) for k, v in r.items()} for r in rows]
    overall = [metrics_of(overall_metrics(t, n_resamples, seed).iloc[0]) for t in featured]
    return {
        "page": "index",
        "dataset": inputs.dataset,
        "names": inputs.names,
        "has_confidence": [bool(t["confidence"].notna().any()) for t in featured],
        "ids": [
            {"missing": len(s.missing_ids), "unknown": len(s.unknown_ids)} for s in inputs.scored
        ],
        "overall": overall,
        "comparison": comparison,
        "differ": int(differing(featured).sum()),
        "articles": article_rows(featured, titles, n_resamples, seed),
        "slices": slice_values(featured[0]),
        "typing": typing,
    }


def article_payload(
    index: dict[str, Any], position: int, paragraphs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Everything one article page shows: its paragraphs and what the filters offer."""
    rows = index["articles"]
    neighbour = {
        "prev": f"{page_name(position - 1)}.html" if position > 0 else None,
        "next": f"{page_name(position + 1)}.html" if position + 1 < len(rows) else None,
    }
    return {
        "page": "article",
        "title": rows[position]["title"],
        "position": position,
        "count": len(rows),
        **neighbour,
        "dataset": index["dataset"],
        "names": index["names"],
        "has_confidence": index["has_confidence"],
        "metrics": rows[position]["systems"],
        "slices": index["slices"],
        "answer_types": list(ANSWER_TYPES),
        "error_categories": list(ERROR_CATEGORIES),
        "paragraphs": paragraphs,
    }


def data_script(payload: dict[str, Any]) -> str:
    """A page's data as a script (browsers load <script src> from file://, not fetch())."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return f"window.EXPLORER_DATA = {body};\n"


def page_html(title: str, root: str, data: str) -> str:
    """An HTML page that loads its data script and the shared app (every value escaped)."""
    template = string.Template((ASSETS / "page.html").read_text(encoding="utf-8"))
    values = {"title": title, "root": root, "data": data}
    return template.substitute({k: html.escape(v, quote=True) for k, v in values.items()})


def write_file(out: Path, relative: str, text: str, sizes: dict[str, int]) -> None:
    """Write one file of the site atomically and note its size."""
    path = atomic_write_text(out / relative, text)
    sizes[relative] = path.stat().st_size


def write_site(
    out: str | Path, index: dict[str, Any], articles: dict[str, list[dict[str, Any]]]
) -> Site:
    """Write the index, one page and data script per article, and the shared script and style."""
    out = Path(out)
    site = Site(out, len(articles), sum(r["questions"] for r in index["articles"]))
    for position, paragraphs in enumerate(articles.values()):
        payload = article_payload(index, position, paragraphs)
        stem = page_name(position)
        write_file(out, f"data/{stem}.js", data_script(payload), site.sizes)
        title = f"{payload['title']}: SQuAD explorer"
        page = page_html(title, "../", f"../data/{stem}.js")
        write_file(out, f"articles/{stem}.html", page, site.sizes)
    write_file(out, "data/index.js", data_script(index), site.sizes)
    write_file(out, "index.html", page_html("SQuAD explorer", "", "data/index.js"), site.sizes)
    for name in STATIC_FILES:
        write_file(out, name, (ASSETS / name).read_text(encoding="utf-8"), site.sizes)
    return site


def typing_name(nlp: Language | None) -> str:
    """How answer types were assigned, as the pages say it."""
    if nlp is None:
        return "rule-based (spelling cues)"
    return f"spaCy {nlp.meta['lang']}_{nlp.meta['name']}"


def readable_size(size: float) -> str:
    """Bytes in KB below a megabyte, else in MB.

    >>> readable_size(33_400), readable_size(8_800_000)
    ('33 KB', '8.8 MB')
    """
    return f"{size / 1e3:.0f} KB" if size < 1e6 else f"{size / 1e6:.1f} MB"


def site_summary(site: Site, seconds: float) -> str:
    """One line: what was written where, how large and how long it took."""
    pages = sorted(site.article_bytes())
    return (
        f"wrote {site.out / 'index.html'}: {site.articles} articles, {site.questions} questions, "
        f"{len(site.sizes)} files, {readable_size(site.total_bytes)}; article page + data "
        f"{readable_size(statistics.median(pages))} median, {readable_size(pages[-1])} largest; "
        f"{seconds:.1f} s"
    )


def explore(
    inputs: Inputs,
    out: str | Path,
    nlp: Language | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
) -> Site:
    """Build the explorer of `inputs` into `out` (replacing an earlier explorer there).

    Args:
        inputs: the systems' per-example tables (`load_inputs`).
        out: the site's folder.
        nlp: spaCy pipeline for answer types (`answer_types.load_spacy`); None: rule-based.
        n_resamples: bootstrap resamples of every interval.
        seed: seed of the resampling.
    """
    featured = featured_tables([s.table for s in inputs.scored], nlp)
    articles = article_questions(featured)
    index = index_payload(inputs, featured, list(articles), typing_name(nlp), n_resamples, seed)
    # Pages of a larger earlier site would outlive this one and link to the wrong data.
    for folder in ("articles", "data"):
        shutil.rmtree(Path(out) / folder, ignore_errors=True)
    return write_site(out, index, articles)
