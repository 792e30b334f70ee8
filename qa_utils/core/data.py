"""Load SQuAD v1.1 or 2.0 as a `datasets.Dataset`, from the Hub, nested JSON, JSON Lines or Parquet.

Whatever the source, the result has the Hub's flat schema (`FEATURES`): one row per question with
id, title, context, question and answers{text, answer_start}. A SQuAD 2.0 file (a top-level
version "v2.0", or questions carrying `is_impossible`) adds a boolean `is_impossible` column
(`FEATURES_V2`); its unanswerable questions have empty answers, and `plausible_answers` is
ignored. Local files are validated; every problem names the file, the record
(``data[3].paragraphs[1].qas[0]`` in the nested format, ``line 7`` or ``row 6`` in the flat ones)
and the field. Questions are kept exactly as written (feature building strips them, not this
module).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset, DatasetInfo, Features, List, Value, load_dataset
from datasets.table import InMemoryTable
from huggingface_hub import constants

from qa_utils.project.paths import REPO_ROOT, shared_dir
from qa_utils.project.text import text_problem

HUB_ID = "rajpurkar/squad"

SPLITS = ("train", "validation")

ENV_VARS = {"train": "QA_SQUAD_TRAIN", "validation": "QA_SQUAD_DEV"}

LOCAL_DIR = Path("data") / "squad"

LOCAL_STEMS = {"train": ("train-v1.1", "train"), "validation": ("dev-v1.1", "validation", "dev")}

SUFFIXES = (".json", ".jsonl", ".parquet")

SHARED_NAMES = {"train": "train-v1.1-rebuilt.json", "validation": "dev-v1.1.json"}


MAX_CONTEXT_CHARS = 100_000
"""Longest context accepted (SQuAD's longest: 4,063 in dev, 3,706 in train): windows, and the
memory they take, grow with it."""


MAX_QUESTION_CHARS = 100_000
"""Longest question accepted: it is tokenized whole before being cut to its token budget.
SQuAD's longest is 270 characters, but one training question is padded with whitespace to
25,651 (`train-v1.1`, data[382].paragraphs[13].qas[1]), so the bound is generous."""


FEATURES = Features(
    {
        "id": Value("string"),
        "title": Value("string"),
        "context": Value("string"),
        "question": Value("string"),
        "answers": {"text": List(Value("string")), "answer_start": List(Value("int32"))},
    }
)

FEATURES_V2 = Features({**FEATURES, "is_impossible": Value("bool")})

SQUAD_VERSIONS = ("v1.1", "v2.0")

IMPOSSIBLE = "is_impossible"

_TYPE_NAMES = {
    str: "a string",
    list: "a list",
    dict: "an object",
    int: "an integer",
    bool: "a boolean",
}


@dataclass(frozen=True)
class SquadProblem:
    """One problem found in a SQuAD file: where it is and what is wrong."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"


class SquadFormatError(ValueError):
    """A SQuAD file that cannot be read, or (with strict=True) a record that breaks the format."""

    def __init__(self, problems: list[SquadProblem]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


class SquadSourceError(OSError):
    """No SQuAD source could be used (for example the Hub while offline)."""


class SquadDataWarning(UserWarning):
    """Records were dropped while loading with strict=False."""


@dataclass
class SquadLoad:
    """A loaded split, the problems found in it (always empty with strict=True), its version."""

    dataset: Dataset
    problems: list[SquadProblem] = field(default_factory=list)
    version: str = "v1.1"


class _Checker:
    """Collects problems for one file; in strict mode the first one raises."""

    def __init__(self, file: str | Path, strict: bool) -> None:
        self.file, self.strict, self.problems = str(file), strict, []

    def report(self, where: str, message: str) -> bool:
        problem = SquadProblem(self.file, where, message)
        if self.strict:
            raise SquadFormatError([problem])
        self.problems.append(problem)
        return False

    def flag(self, obj: dict, prefix: str) -> tuple[bool, bool | None]:
        """Return (sound, obj["is_impossible"]); an absent flag is sound and None."""
        if IMPOSSIBLE not in obj:
            return True, None
        value = self.typed(obj, IMPOSSIBLE, bool, prefix)
        return value is not None, value

    def typed(self, obj: dict, key: str, kind: type, prefix: str) -> Any:
        """Return obj[key] if present and of `kind`; else report `prefix + key` and return None."""
        place = prefix + key
        if key not in obj:
            self.report(place, f"missing key {key!r}")
            return None
        value = obj[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            got = type(value).__name__ if value is not None else "null"
            self.report(place, f"expected {_TYPE_NAMES[kind]}, got {got}")
            return None
        return value


Locator = Callable[..., str]
"""Maps a field name (and an answer index) to its place in the file, as error messages show it."""


class _Columns:
    """The accepted questions as column lists, plus where each id was first seen.

    `v2` (SQuAD 2.0) adds the is_impossible column; in v1.1 every question needs an answer.
    """

    def __init__(self, v2: bool = False) -> None:
        self.v2 = v2
        self.features = FEATURES_V2 if v2 else FEATURES
        self.data: dict[str, list] = {name: [] for name in self.features}
        self.seen: dict[str, Locator] = {}
        self.articles = 0  # nested files: articles read, sound or not
        self.read = 0  # records (flat) or paragraphs (nested) read, sound or not

    def __len__(self) -> int:
        return len(self.data["id"])

    def add(self, qid: str, title: str, context: str, question: str, answers: dict) -> None:
        data = self.data
        data["id"].append(qid)
        data["title"].append(title)
        data["context"].append(context)
        data["question"].append(question)
        data["answers"].append(answers)
        if self.v2:
            data[IMPOSSIBLE].append(not answers["text"])

    def to_dataset(self, limit: int | None = None) -> Dataset:
        """Return the first `limit` (default all) questions as a Dataset with `self.features`."""
        # The nested walker stops at a paragraph boundary, which may pass the limit.
        data = {name: values[:limit] for name, values in self.data.items()}
        # Building the Arrow table directly is several times faster than Dataset.from_dict,
        # which encodes every row through the features first.
        table = pa.Table.from_pydict(data, schema=self.features.arrow_schema)
        return Dataset(InMemoryTable(table), info=DatasetInfo(features=self.features))


def _check_answer(chk: _Checker, loc: Locator, k: int, context: str, answer: tuple) -> bool:
    """Check that answer `k` has text and that its answer_start points at that text."""
    text, start = answer
    if not text:
        return chk.report(loc("text", k), "is empty")
    if not _text_ok(chk, loc("text", k), text):
        return False
    if start < 0 or start + len(text) > len(context):
        msg = f"{start} is outside the context (length {len(context)})"
        return chk.report(loc("answer_start", k), msg)
    found = context[start : start + len(text)]
    if found != text:
        hint = f"; the text occurs at offset {context.find(text)}" if text in context else ""
        msg = f"{start} does not point at the answer text {text!r} (found {found!r}){hint}"
        return chk.report(loc("answer_start", k), msg)
    return True


def _check_answerable(
    chk: _Checker, loc: Locator, texts: list, impossible: bool | None, v2: bool
) -> bool:
    """Check that answers and is_impossible agree (v1.1: every question has an answer)."""
    if not v2 and not texts:
        return chk.report(
            loc("answers"),
            "is empty; a SQuAD v1.1 question needs an answer "
            "(a SQuAD 2.0 file marks unanswerable questions with is_impossible)",
        )
    if impossible and texts:
        return chk.report(loc(IMPOSSIBLE), f"is true, but the question has {len(texts)} answers")
    if impossible is False and not texts:
        return chk.report(loc(IMPOSSIBLE), "is false, but the question has no answers")
    return True


def _text_ok(chk: _Checker, place: str, value: str, limit: int | None = None) -> bool:
    """Check that a text field is valid Unicode and (with `limit`) not too long to process."""
    problem = text_problem(value)
    if problem:
        return chk.report(place, problem)
    if limit is not None and len(value) > limit:
        return chk.report(place, f"has {len(value):,} characters; the limit is {limit:,}")
    return True


def _check_record(
    chk: _Checker, cols: _Columns, loc: Locator, rec: tuple, impossible: bool | None = None
) -> bool:
    """Check one question's values (types already checked) and the uniqueness of its id.

    `impossible` is the question's is_impossible flag (None when absent or in v1.1).
    """
    qid, context, question, texts, starts = rec
    for name, value in (("id", qid), ("context", context), ("question", question)):
        if not value or value.isspace():
            return chk.report(loc(name), "is empty")
    if not _text_ok(chk, loc("id"), qid) or not _text_ok(
        chk, loc("question"), question, MAX_QUESTION_CHARS
    ):
        return False
    if not _check_answerable(chk, loc, texts, impossible, cols.v2):
        return False
    for k, answer in enumerate(zip(texts, starts, strict=True)):
        if not _check_answer(chk, loc, k, context, answer):
            return False
    if qid in cols.seen:
        return chk.report(loc("id"), f"duplicate id {qid!r} (first at {cols.seen[qid]('id')})")
    cols.seen[qid] = loc  # a string is built only if a duplicate needs it
    return True


def _nested_locator(where: str) -> Locator:
    """Locate fields of the nested question at `where` (data[a].paragraphs[p].qas[q])."""

    def loc(name: str, k: int | None = None) -> str:
        if k is not None:
            return f"{where}.answers[{k}].{name}"
        return f"{where.rsplit('.qas', 1)[0]}.context" if name == "context" else f"{where}.{name}"

    return loc


def _flat_locator(where: str) -> Locator:
    """Locate fields of the flat record at `where` (line n / row i)."""

    def loc(name: str, k: int | None = None) -> str:
        return f"{where}: answers.{name}[{k}]" if k is not None else f"{where}: {name}"

    return loc


def _nested_answers(chk: _Checker, answers: list, where: str) -> tuple[list, list] | None:
    """Return (texts, starts) of a nested qas[i].answers list, or None if any is malformed."""
    texts, starts = [], []
    for k, answer in enumerate(answers):
        place = f"{where}.answers[{k}]"
        if not isinstance(answer, dict):
            chk.report(place, f"expected an object, got {type(answer).__name__}")
            return None
        text = chk.typed(answer, "text", str, f"{place}.")
        start = chk.typed(answer, "answer_start", int, f"{place}.")
        if text is None or start is None:
            return None
        texts.append(text)
        starts.append(start)
    return texts, starts


def _nested_question(chk: _Checker, cols: _Columns, qa: Any, where: str, para: tuple) -> None:
    """Validate one nested qas[i] entry and add it to the columns if it is sound."""
    title, context = para
    if not isinstance(qa, dict):
        chk.report(where, f"expected an object, got {type(qa).__name__}")
        return
    qid = chk.typed(qa, "id", str, f"{where}.")
    question = chk.typed(qa, "question", str, f"{where}.")
    answers = chk.typed(qa, "answers", list, f"{where}.")
    sound, impossible = chk.flag(qa, f"{where}.") if cols.v2 else (True, None)
    if qid is None or question is None or answers is None or not sound:
        return
    pairs = _nested_answers(chk, answers, where)
    if pairs is None:
        return
    record = (qid, context, question, *pairs)
    if _check_record(chk, cols, _nested_locator(where), record, impossible):
        cols.add(qid, title, context, question, {"text": pairs[0], "answer_start": pairs[1]})


def _nested_is_v2(root: dict) -> bool:
    """Whether a nested file is SQuAD 2.0: version "v2.0", or a question with is_impossible."""
    if str(root.get("version", "")).lstrip("v").startswith("2"):
        return True
    articles = [a for a in root["data"] if isinstance(a, dict)]
    paragraphs = [
        p for a in articles if isinstance(a.get("paragraphs"), list) for p in a["paragraphs"]
    ]
    return any(
        isinstance(qa, dict) and IMPOSSIBLE in qa
        for p in paragraphs
        if isinstance(p, dict) and isinstance(p.get("qas"), list)
        for qa in p["qas"]
    )


def _walk_nested(chk: _Checker, root: Any, limit: int | None, version: str | None) -> _Columns:
    """Walk data[a].paragraphs[p].qas[q] of a nested SQuAD file into columns."""
    if not isinstance(root, dict) or not isinstance(root.get("data"), list):
        if isinstance(root, dict) and "data" not in root:
            message = "missing key 'data' (the nested SQuAD format has {'data': [articles]})"
        else:
            got = type(root["data"] if isinstance(root, dict) else root).__name__
            message = f"expected a list of articles, got {got}"
        raise SquadFormatError([SquadProblem(chk.file, "data", message)])  # nothing to keep
    cols = _Columns(version == "v2.0" if version else _nested_is_v2(root))
    for a, article in enumerate(root["data"]):
        cols.articles += 1
        where = f"data[{a}]"
        if not isinstance(article, dict):
            chk.report(where, f"expected an object, got {type(article).__name__}")
            continue
        title = chk.typed(article, "title", str, f"{where}.")
        paragraphs = chk.typed(article, "paragraphs", list, f"{where}.")
        if title is None or paragraphs is None or not _text_ok(chk, f"{where}.title", title):
            continue
        for p, paragraph in enumerate(paragraphs):
            _walk_paragraph(chk, cols, paragraph, f"{where}.paragraphs[{p}]", title)
            if limit is not None and len(cols) >= limit:
                return cols
    return cols


def _walk_paragraph(chk: _Checker, cols: _Columns, paragraph: Any, where: str, title: str) -> None:
    """Add the sound questions of one nested paragraph to the columns."""
    if not isinstance(paragraph, dict):
        chk.report(where, f"expected an object, got {type(paragraph).__name__}")
        return
    context = chk.typed(paragraph, "context", str, f"{where}.")
    qas = chk.typed(paragraph, "qas", list, f"{where}.")
    if context is None or qas is None:
        return
    cols.read += 1
    if not context or context.isspace():
        chk.report(f"{where}.context", f"is empty ({len(qas)} questions dropped)")
        return
    if not _text_ok(chk, f"{where}.context", context, MAX_CONTEXT_CHARS):
        return
    for q, qa in enumerate(qas):
        _nested_question(chk, cols, qa, f"{where}.qas[{q}]", (title, context))


def _flat_record(chk: _Checker, cols: _Columns, rec: Any, where: str) -> None:
    """Validate one flat (Hub schema) record and add it to the columns if it is sound."""
    if not isinstance(rec, dict):
        chk.report(where, f"expected an object, got {type(rec).__name__}")
        return
    values = [
        chk.typed(rec, key, str, f"{where}: ") for key in ("id", "title", "context", "question")
    ]
    answers = chk.typed(rec, "answers", dict, f"{where}: ")
    sound, impossible = chk.flag(rec, f"{where}: ") if cols.v2 else (True, None)
    if None in values or answers is None or not sound:
        return
    if not _text_ok(chk, f"{where}: title", values[1]) or not _text_ok(
        chk, f"{where}: context", values[2], MAX_CONTEXT_CHARS
    ):
        return
    texts = chk.typed(answers, "text", list, f"{where}: answers.")
    starts = chk.typed(answers, "answer_start", list, f"{where}: answers.")
    if texts is None or starts is None or not _flat_answers_typed(chk, texts, starts, where):
        return
    qid, title, context, question = values
    record = (qid, context, question, texts, starts)
    if _check_record(chk, cols, _flat_locator(where), record, impossible):
        cols.add(qid, title, context, question, {"text": texts, "answer_start": starts})


def _flat_answers_typed(chk: _Checker, texts: list, starts: list, where: str) -> bool:
    """Check the element types and lengths of a flat answers{text, answer_start} pair."""
    if len(texts) != len(starts):
        msg = f"{len(texts)} texts but {len(starts)} answer_start values"
        return chk.report(f"{where}: answers", msg)
    for k, (text, start) in enumerate(zip(texts, starts, strict=True)):
        if not isinstance(text, str):
            got = type(text).__name__
            return chk.report(f"{where}: answers.text[{k}]", f"expected a string, got {got}")
        if not isinstance(start, int) or isinstance(start, bool):
            got = type(start).__name__
            return chk.report(
                f"{where}: answers.answer_start[{k}]", f"expected an integer, got {got}"
            )
    return True


def _read_utf8(path: Path) -> str:
    """Read a file as UTF-8 (a leading BOM is allowed), naming the byte offset of bad bytes."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        bad = raw[err.start : err.start + 4]
        problem = SquadProblem(str(path), f"byte {err.start}", f"not valid UTF-8 ({bad!r}...)")
        raise SquadFormatError([problem]) from None


def _json_problem(file: str, err: json.JSONDecodeError, line: int | None = None) -> SquadProblem:
    """Describe a JSON syntax error by line and column (`line` overrides for JSON Lines)."""
    where = f"line {line if line is not None else err.lineno}, column {err.colno}"
    hint = (
        " (several JSON values: is this JSON Lines? name it .jsonl)"
        if err.msg == "Extra data"
        else ""
    )
    return SquadProblem(file, where, f"invalid JSON: {err.msg}{hint}")


def _load_nested(path: Path, chk: _Checker, limit: int | None, version: str | None) -> _Columns:
    """Parse and walk a SQuAD file in the original nested JSON format."""
    try:
        root = json.loads(_read_utf8(path))
    except json.JSONDecodeError as err:
        raise SquadFormatError([_json_problem(str(path), err)]) from None
    except RecursionError:
        raise SquadFormatError(
            [SquadProblem(str(path), "top level", "JSON nested too deeply")]
        ) from None
    return _walk_nested(chk, root, limit, version)


def _jsonl_records(path: Path) -> list[tuple[str, Any]]:
    """(where, record) for each non-blank line of a JSON Lines file.

    A line that is not JSON gets its `SquadProblem` as the record; it is reported in file
    order while walking, so a limit still stops before the lines it does not need.
    """
    records: list[tuple[str, Any]] = []
    for n, line in enumerate(_read_utf8(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append((f"line {n}", json.loads(line)))
        except json.JSONDecodeError as err:
            records.append((f"line {n}", _json_problem(str(path), err, line=n)))
    return records


def _parquet_records(path: Path) -> list[tuple[str, Any]]:
    """(where, record) for each row of a Parquet file."""
    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow raises several types for an unreadable file
        raise SquadFormatError(
            [SquadProblem(str(path), "file", f"not a readable Parquet file ({err})")]
        ) from None
    return [(f"row {i}", row) for i, row in enumerate(rows)]


def _load_flat(path: Path, chk: _Checker, limit: int | None, version: str | None) -> _Columns:
    """Read and validate a JSON Lines or Parquet file in the flat Hub schema."""
    records = _parquet_records(path) if path.suffix == ".parquet" else _jsonl_records(path)
    v2 = any(isinstance(rec, dict) and IMPOSSIBLE in rec for _, rec in records)
    cols = _Columns(version == "v2.0" if version else v2)
    for where, rec in records:
        cols.read += 1
        if isinstance(rec, SquadProblem):
            chk.report(rec.where, rec.message)
        else:
            _flat_record(chk, cols, rec, where)
        if limit is not None and len(cols) >= limit:
            break
    return cols


def _load_hub(split: str, limit: int | None) -> Dataset:
    """Load a split of rajpurkar/squad from the Hub (or its local cache)."""
    try:
        dataset = load_dataset(HUB_ID, split=split)
    except Exception as err:  # offline mode, no network and missing cache all mean "use a file"
        offline = " (offline mode: HF_HUB_OFFLINE is set)" if constants.HF_HUB_OFFLINE else ""
        raise SquadSourceError(
            f"cannot load {HUB_ID!r} split {split!r} from the Hugging Face Hub{offline}: "
            f"{type(err).__name__}: {err}. Set {ENV_VARS[split]} to a local SQuAD file "
            f"(.json, .jsonl or .parquet) or put one in {LOCAL_DIR}/."
        ) from None
    dataset = dataset.select_columns(list(FEATURES)).cast(FEATURES)
    return dataset.select(range(min(limit, len(dataset)))) if limit is not None else dataset


def resolve_squad_source(split: str = "validation", root: str | Path | None = None) -> Path | str:
    """Pick a split's source: env var, else data/squad/, else ../shared/squad/, else the Hub.

    Args:
        split: "train" or "validation".
        root: the repository root (default: the one holding this package).

    Returns:
        A file path, or the Hub id `HUB_ID` when no local file is found.
    """
    _check_split(split)
    root = Path(root) if root is not None else REPO_ROOT
    env = os.environ.get(ENV_VARS[split])
    if env:
        if not Path(env).is_file():
            raise FileNotFoundError(f"{ENV_VARS[split]}={env}: no such file")
        return Path(env)
    candidates = [
        root / LOCAL_DIR / f"{stem}{suffix}" for stem in LOCAL_STEMS[split] for suffix in SUFFIXES
    ]
    candidates.append(shared_dir(root) / "squad" / SHARED_NAMES[split])
    return next((path for path in candidates if path.is_file()), HUB_ID)


def _check_split(split: str) -> None:
    """Raise ValueError for a split name other than "train" or "validation"."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")


def _check_version(version: str | None, source: str | Path) -> None:
    """Reject an unknown version, and SQuAD 2.0 from the Hub id (which is v1.1)."""
    if version is not None and version not in SQUAD_VERSIONS:
        raise ValueError(f"unknown SQuAD version {version!r}; use one of {SQUAD_VERSIONS}")
    if version == "v2.0" and str(source) == HUB_ID:
        raise ValueError(f"{HUB_ID} is SQuAD v1.1; give a SQuAD 2.0 file")


def load_squad_with_problems(
    source: str | Path | None = None,
    split: str = "validation",
    strict: bool = True,
    limit: int | None = None,
    version: str | None = None,
) -> SquadLoad:
    """Load a SQuAD v1.1 or 2.0 split and return it with the list of problems found.

    Args:
        source: a .json (nested), .jsonl or .parquet (flat Hub schema) file, the Hub id
            "rajpurkar/squad", or None for `resolve_squad_source(split)`.
        split: which split to take from the Hub or to resolve; ignored for a file.
        strict: raise `SquadFormatError` on the first problem; if False, drop the bad
            questions, keep going and return every problem.
        limit: keep only the first `limit` sound questions, in file order.
        version: "v1.1" or "v2.0"; None detects it (v2.0 when the nested file says
            version "v2.0" or any question carries is_impossible). Flat SQuAD 2.0 files
            without an is_impossible column need "v2.0".

    Returns:
        `SquadLoad(dataset, problems, version)`; the dataset has the features `FEATURES`
        (v1.1) or `FEATURES_V2` (v2.0, with is_impossible).
    """
    _check_split(split)
    if limit is not None and limit <= 0:
        raise ValueError(f"limit must be a positive number of questions, got {limit}")
    source = resolve_squad_source(split) if source is None else source
    _check_version(version, source)
    if str(source) == HUB_ID:
        return SquadLoad(_load_hub(split, limit))
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (give a SQuAD .json, .jsonl or .parquet)")
    chk = _Checker(path, strict)
    if path.suffix == ".json":
        cols = _load_nested(path, chk, limit, version)
    elif path.suffix in (".jsonl", ".parquet"):
        cols = _load_flat(path, chk, limit, version)
    else:
        raise ValueError(
            f"{path}: unsupported file type {path.suffix!r}; use .json, .jsonl or .parquet"
        )
    if not len(cols):
        raise SquadFormatError([_no_questions(chk, cols, path.suffix == ".json")])
    return SquadLoad(cols.to_dataset(limit), chk.problems, "v2.0" if cols.v2 else "v1.1")


def _no_questions(chk: _Checker, cols: _Columns, nested: bool) -> SquadProblem:
    """Describe a file that yields no question: empty, or every record dropped."""
    where = "data" if nested else "file"
    if chk.problems:
        why = f"every one was dropped ({len(chk.problems)} problems; first: {chk.problems[0]})"
        return SquadProblem(chk.file, where, f"no usable questions: {why}")
    if nested and cols.articles and cols.read:
        found = f"{cols.read} paragraphs, all with empty qas"
    elif nested and cols.articles:
        found = f"{cols.articles} articles without paragraphs"
    else:
        found = "no articles" if nested else "no records"
    return SquadProblem(chk.file, where, f"holds no questions ({found})")


def load_squad(
    source: str | Path | None = None,
    split: str = "validation",
    strict: bool = True,
    limit: int | None = None,
    version: str | None = None,
) -> Dataset:
    """Load a SQuAD v1.1 or 2.0 split as a Dataset (arguments: `load_squad_with_problems`).

    With strict=False the bad questions are dropped and a `SquadDataWarning` gives their count
    and the first problem; call `load_squad_with_problems` to get the full list.
    """
    loaded = load_squad_with_problems(source, split, strict, limit, version)
    if loaded.problems:
        first = loaded.problems[0]
        warnings.warn(
            f"{first.file}: {len(loaded.problems)} problems; their records were dropped. "
            f"First: {first}",
            SquadDataWarning,
            stacklevel=2,
        )
    return loaded.dataset


def subset(dataset: Dataset, n: int, seed: int) -> Dataset:
    """Return `n` questions drawn at random (without replacement), kept in their original order.

    The whole dataset is returned when `n` is at least its length.
    """
    if n <= 0:
        raise ValueError(f"subset size must be a positive number of questions, got {n}")
    if n >= len(dataset):
        return dataset
    rng = np.random.default_rng(seed)
    return dataset.select(np.sort(rng.choice(len(dataset), size=n, replace=False)))


VALIDATION_SHARE = 0.05
"""Share of the training articles held out for tuning (learning rate, temperature, thresholds):
every choice is made on them, and the dev set is kept for the final report only."""


def in_validation(title: str, share: float = VALIDATION_SHARE) -> bool:
    """Whether a training article belongs to the validation split (a stable hash of its title).

    >>> in_validation("Super_Bowl_50", share=0.0)
    False
    """
    digest = hashlib.sha256(title.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split_validation(dataset: Dataset, share: float = VALIDATION_SHARE) -> tuple[Dataset, Dataset]:
    """Split a training set by article into (training part, validation part).

    The same article always lands on the same side, whatever the file's order or size.
    """
    held = np.array([in_validation(t, share) for t in dataset["title"]], dtype=bool)
    return dataset.select(np.flatnonzero(~held)), dataset.select(np.flatnonzero(held))
