"""The README's results, generated from committed result files (`qa_utils publish --readme`).

A generated block sits between two markers in README.md::

    <!-- generated:NAME -->
    ...text written by the renderer registered as NAME...
    <!-- /generated:NAME -->

Each renderer reads committed files only (`benchmarks/reference/*`, the published run's summary,
the profiles in code, facts of the data kept here as constants that tests pin against the data)
and returns the block's text, so a figure in the README cannot drift from its source: the
README-sync test renders every block and fails when the committed README differs.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from qa_utils.project.config import rate_text
from qa_utils.project.io import atomic_write_text
from qa_utils.project.paths import REPO_ROOT

BLOCK = re.compile(
    r"^(<!-- generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)^(<!-- /generated:(?P=name) -->)$",
    re.S | re.M,
)
"""A generated block: its markers stand alone on their lines (quoted inline they are text)."""

Renderer = Callable[[Path], str]
RENDERERS: dict[str, Renderer] = {}
"""Block name -> function of the repository root returning the block's text."""


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register a function as the renderer of the README block `name`."""

    def register(function: Renderer) -> Renderer:
        RENDERERS[name] = function
        return function

    return register


def render_readme(text: str, root: Path = REPO_ROOT) -> str:
    """`text` with every generated block re-rendered from the files under `root`."""

    def fill(match: re.Match) -> str:
        name = match["name"]
        if name not in RENDERERS:
            raise ValueError(f"README.md: block {name!r} has no renderer in {__name__}")
        body = wrap_prose(RENDERERS[name](root)).rstrip("\n") + "\n"
        return match[1] + body + match[4]

    return BLOCK.sub(fill, text)


OPENING = re.compile(r"^<!-- generated:(?P<name>[\w-]+) -->$", re.M)

README = "README.md"

PUBLISHED_RUN = Path("docs/results/published_run.json")
"""The summary of the run whose outputs the committed notebooks carry (`publish RUN_DIR`)."""

REFERENCE = Path("benchmarks/reference")
"""The committed outputs of the benchmark scripts."""


def check_markers(text: str) -> list[str]:
    """The names of the blocks in `text`, in order.

    Raises:
        ValueError: an opening marker has no closing one, or a name is used twice.
    """
    closed = [m["name"] for m in BLOCK.finditer(text)]
    opened = [m["name"] for m in OPENING.finditer(text)]
    if opened != closed:
        unclosed = sorted(set(opened) - set(closed)) or opened
        raise ValueError(f"README.md: block {unclosed[0]!r} has no closing marker")
    twice = sorted({n for n in closed if closed.count(n) > 1})
    if twice:
        raise ValueError(f"README.md: block {twice[0]!r} appears more than once")
    return closed


def stale_blocks(text: str, root: Path = REPO_ROOT) -> list[str]:
    """The names of the blocks whose text differs from what their renderer writes now."""
    check_markers(text)
    fresh = {m["name"]: m["body"] for m in BLOCK.finditer(render_readme(text, root))}
    return [m["name"] for m in BLOCK.finditer(text) if fresh[m["name"]] != m["body"]]


def update_readme(path: Path | None = None, root: Path = REPO_ROOT) -> list[str]:
    """Re-render the blocks of the README at `path` in place (atomically); return the stale ones."""
    path = path or root / README
    text = path.read_text(encoding="utf-8")
    stale = stale_blocks(text, root)
    if stale:
        atomic_write_text(path, render_readme(text, root))
    return stale


def wrap_prose(text: str, width: int = 100) -> str:
    """`text` with its prose lines wrapped like the README's; tables and list items kept whole."""
    lines = []
    for line in text.split("\n"):
        if line.startswith(("|", "- ")) or len(line) <= width:
            lines.append(line)
        else:
            lines += textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines)


# --- reading the committed files -----------------------------------------------------------------


def read_json(root: Path, relative: Path) -> Any:
    """A committed JSON file, with an error naming it when it is missing or not JSON."""
    try:
        return json.loads((root / relative).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{relative}: not a readable JSON file ({err})") from None


def read_csv(root: Path, relative: Path) -> pd.DataFrame:
    """A committed CSV table, with an error naming it when it is missing or unreadable."""
    try:
        return pd.read_csv(root / relative)
    except (OSError, ValueError) as err:
        raise ValueError(f"{relative}: not a readable CSV table ({err})") from None


def read_text(root: Path, relative: Path) -> str:
    """A committed text file, with an error naming it when it is missing."""
    try:
        return (root / relative).read_text(encoding="utf-8")
    except OSError as err:
        raise ValueError(f"{relative}: not readable ({err})") from None


def field(data: Any, source: Path, *keys: str) -> Any:
    """`data[k1][k2]...`, or an error naming the file and the missing field."""
    for depth, key in enumerate(keys):
        if not isinstance(data, dict) or key not in data:
            raise ValueError(f"{source}: no field {'.'.join(keys[: depth + 1])}")
        data = data[key]
    return data


def match(pattern: str, text: str, source: Path) -> re.Match:
    """The first match of `pattern` in a committed text file, or an error naming the file."""
    found = re.search(pattern, text, re.M)
    if found is None:
        raise ValueError(f"{source}: no line matching {pattern!r}")
    return found


def published_run(root: Path) -> dict[str, Any] | None:
    """The published run's summary, or None when no run has been published yet."""
    return read_json(root, PUBLISHED_RUN) if (root / PUBLISHED_RUN).is_file() else None


NOT_PUBLISHED = (
    "*Not yet published: no run summary is committed (`{path}`). "
    "`python -m qa_utils publish RUN_DIR --readme` writes it and fills this in.*"
)


# --- formatting ----------------------------------------------------------------------------------


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table in the README's compact style."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def duration(seconds: float) -> str:
    """Seconds under 90 s, else minutes with one decimal."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def hardware_text(hardware: dict[str, Any] | None) -> str:
    """'2-core Intel Xeon, 2 torch threads, no GPU' from a `hardware_info()` record."""
    if not hardware:
        return "hardware not recorded"
    gpu = hardware.get("gpu") or "no GPU"
    threads = hardware.get("torch_threads")
    return f"{hardware.get('cpu_count')}-core {hardware.get('cpu')}, {threads} torch threads, {gpu}"


def spoken_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c' (commas alone would blur into thousands separators).

    >>> spoken_list(["500", "1,000", "2,000"])
    '500, 1,000 and 2,000'
    """
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 2 else items)


def load_text(load: list[float]) -> str:
    """The one-minute load average of a benchmark's metadata."""
    return f"load average {load[0]:.1f}"


# --- the published run (docs/results/published_run.json) ----------------------------------------


def notebook_value(run: dict[str, Any], notebook: str, key: str) -> Any:
    """One number a notebook recorded in the published run's summary."""
    return field(run, PUBLISHED_RUN, "notebooks", notebook, key)


@renderer("run-times")
def render_run_times(root: Path) -> str:
    """How long `make run` took, notebook by notebook, in the published run."""
    run = published_run(root)
    if run is None:
        return NOT_PUBLISHED.format(path=PUBLISHED_RUN)
    header = field(run, PUBLISHED_RUN, "run")
    seconds = field(header, PUBLISHED_RUN, "notebook_seconds")
    parts = [f"{name[:2]} {duration(s)}" for name, s in seconds.items()]
    training = run.get("notebooks", {}).get("02_fine_tuning", {}).get("train_minutes")
    of_which = f" (of which training in 02: {training:.1f} min)" if training is not None else ""
    return (
        f"The published run (profile `{header.get('profile')}`, "
        f"{hardware_text(header.get('hardware'))}) took "
        f"{duration(field(header, PUBLISHED_RUN, 'total_seconds'))}{of_which}: notebook "
        f"{', '.join(parts)}.{rerun_text(header.get('rerun_seconds', {}))} The committed notebooks "
        f"carry that run's outputs; its summary is `{PUBLISHED_RUN}`."
    )


def rerun_text(rerun: dict[str, float]) -> str:
    """' Notebook 01 was re-run ...' for notebooks re-executed in the run's folder, else ''.

    >>> text = rerun_text({"01_core_concepts": 61.0})
    >>> text.startswith(" Notebook 01 was re-run in the same folder"), "(61 s, reusing" in text
    (True, True)
    """
    if not rerun:
        return ""
    names = spoken_list([name[:2] for name in rerun])
    times = ", ".join(duration(s) for s in rerun.values())
    one = len(rerun) == 1
    return (
        f" Notebook{'' if one else 's'} {names} {'was' if one else 'were'} re-run in the same "
        f"folder after fixes to {'its' if one else 'their'} text and figures ({times}, reusing "
        "the model the run had already trained); the times above are those of the full run."
    )


def rerun_note(header: dict[str, Any], notebook: str) -> str:
    """'; the re-run of 03' when `notebook` was re-run after the full run, else ''.

    Its summary (and so its timing) then comes from the re-run, not from the full run.

    >>> rerun_note({"rerun_seconds": {"03_evaluation_metrics": 400.0}}, "03_evaluation_metrics")
    '; the re-run of 03'
    >>> rerun_note({}, "03_evaluation_metrics")
    ''
    """
    return f"; the re-run of {notebook[:2]}" if notebook in header.get("rerun_seconds", {}) else ""


@renderer("quick-results")
def render_quick_results(root: Path) -> str:
    """The published run's EM/F1, training and evaluation times, and hardware."""
    # config loads with the profiles only where a block needs them.
    from qa_utils.project.config import get_profile

    run = published_run(root)
    if run is None:
        return NOT_PUBLISHED.format(path=PUBLISHED_RUN)
    header = field(run, PUBLISHED_RUN, "run")
    profile = get_profile(str(header.get("profile")))
    train, scores = "02_fine_tuning", "03_evaluation_metrics"

    def value(notebook: str, key: str) -> Any:
        return notebook_value(run, notebook, key)

    eval_seconds = value(scores, "eval_seconds")
    data = (
        f"{value(train, 'train_questions'):,} questions ({value(train, 'train_windows'):,} "
        f"windows), {profile.epochs:g} epoch{'s' if profile.epochs != 1 else ''}"
    )
    row = [
        f"`{value(train, 'model')}`, `{profile.name}` profile",
        data,
        f"**{value(scores, 'exact_match'):.2f}**",
        f"**{value(scores, 'f1'):.2f}**",
        f"{value(train, 'train_minutes'):.1f} min",
        f"{eval_seconds / 60:.1f} min ({value(scores, 'questions_per_second'):.1f} questions/s"
        f"{rerun_note(header, scores)})",
        hardware_text(header.get("hardware")),
    ]
    intro = (
        f"All {value(scores, 'questions'):,} questions of `dev-v1.1.json`, scored by "
        "`qa_utils.core.metrics` (identical to the official v1.1 script's output on the same "
        f"`predictions.json`), in the published run `{header.get('run_dir')}` "
        "(notebooks 02 and 03):"
    )
    head = ["model", "training data", "EM", "F1", "training", "evaluation", "hardware"]
    return intro + "\n\n" + md_table(head, [row])


@renderer("full-estimate")
def render_full_estimate(root: Path) -> str:
    """What the `full` profile's training would take at the published run's training speed."""
    from qa_utils.project.config import get_profile

    run = published_run(root)
    if run is None:
        return NOT_PUBLISHED.format(path=PUBLISHED_RUN)
    minutes = notebook_value(run, "02_fine_tuning", "train_minutes")
    questions = notebook_value(run, "02_fine_tuning", "train_questions")
    full = get_profile("full")
    hours = minutes / questions * TRAIN_QUESTIONS_OUTSIDE_VALIDATION * full.epochs / 60
    return (
        f"Going further means more steps: at the published run's speed, all "
        f"{TRAIN_QUESTIONS_OUTSIDE_VALIDATION:,} training questions outside the validation split "
        f"for the `full` profile's {full.epochs:g} epochs would take about {hours:.0f} hours on "
        "these cores (and a larger model longer), or minutes on a GPU with the `full` profile."
    )


SQUAD_TRAIN_QUESTIONS = 87_599
"""Questions in SQuAD v1.1's training set (a fact of the data: ../shared/squad/README.md)."""

SQUAD_TRAIN_ARTICLES = 442
"""Articles in SQuAD v1.1's training set."""

VALIDATION_ARTICLES, VALIDATION_QUESTIONS = 17, 3_449
"""What `qa_utils.core.data.split_validation` holds out of `train-v1.1-rebuilt.json` (pinned
against the data by tests/workflow/test_readme.py)."""

TRAIN_QUESTIONS_OUTSIDE_VALIDATION = SQUAD_TRAIN_QUESTIONS - VALIDATION_QUESTIONS
"""The questions every profile draws its training questions from (`training_questions`)."""


@renderer("analysis-overall")
def render_analysis_overall(root: Path) -> str:
    """Notebook 04's overall EM/F1 with intervals and ECE in the published run."""
    run = published_run(root)
    if run is None:
        return NOT_PUBLISHED.format(path=PUBLISHED_RUN)

    def value(key: str) -> Any:
        return notebook_value(run, "04_error_analysis", key)

    em_low, em_high = value("em_ci")
    f1_low, f1_high = value("f1_ci")
    return (
        f"Quick model on the full dev set (notebook 04 of the published run, 95% bootstrap "
        f"intervals): EM {value('em'):.2f} [{em_low:.2f}, {em_high:.2f}], F1 {value('f1'):.2f} "
        f"[{f1_low:.2f}, {f1_high:.2f}], ECE {value('ece'):.2f}."
    )


@renderer("published-scores")
def render_published_scores(root: Path) -> str:
    """The literature's dev-set scores (`qa_utils.chapter.reference.PUBLISHED`)."""
    from qa_utils.chapter.reference import CHAPTER, PUBLISHED

    scores = ", ".join(f"{r.system} {r.exact_match:.1f} / {r.f1:.1f}" for r in PUBLISHED)
    bert = [r for r in PUBLISHED if r.bert_base]
    above = all(CHAPTER.exact_match > r.exact_match and CHAPTER.f1 > r.f1 for r in bert)
    where = "above every" if above else "not above every"
    return (
        f"For scale, the published dev-set numbers (EM / F1): {scores}. The chapter reports "
        f"{CHAPTER.exact_match:.1f} / {CHAPTER.f1:.1f} for bert-base-uncased, {where} "
        "published bert-base result we know (notebook 03 sets them side by side)."
    )


# --- settings ------------------------------------------------------------------------------------


@renderer("validation-split")
def render_validation_split(root: Path) -> str:
    """Where tuning happens: the validation split of the training articles, and its choices."""
    from qa_utils.core.data import VALIDATION_SHARE

    return (
        "Tuning choices (learning rate, distillation temperature and weight, thresholds) belong "
        "on a validation split of the *training* articles: "
        f"`qa_utils.core.data.split_validation` holds out {VALIDATION_SHARE:.0%} of them, each "
        "article placed by a stable hash of its title, and the models train on questions of the "
        "other articles. The official dev set is kept for the final report. "
        f"{learning_rate_sentence(root)} {distillation_choice_sentence(root)} The thresholds of "
        "SQuAD 2.0 and the adaptation's learning rate are chosen on validation data too. "
        "Training reads `train-v1.1-rebuilt.json` (`../shared/squad/`): the real texts with "
        "synthetic question ids, and answer offsets recovered by locating the answer text, so a "
        "small share of them (see `../shared/squad/README.md`) point at another occurrence of the "
        "same text; this affects training labels only, never evaluation."
    )


def rate_caveats(table: pd.DataFrame, chosen: float, profile_questions: int) -> str:
    """What the check leaves open: a rate at the grid's edge, a smaller training budget.

    >>> table = pd.DataFrame({"learning_rate": [5e-5, 1e-4, 2e-4], "questions": 4000})
    >>> text = rate_caveats(table, 2e-4, 16000)
    >>> "2e-4 is the largest rate tried" in text, "a quarter of the profile's 16,000" in text
    (True, True)
    >>> rate_caveats(table, 1e-4, 4000)
    ''
    """
    text = ""
    if len(table) > 1 and chosen in (table["learning_rate"].max(), table["learning_rate"].min()):
        edge = "largest" if chosen == table["learning_rate"].max() else "smallest"
        other = "larger" if edge == "largest" else "smaller"
        text += (
            f" {rate_text(chosen)} is the {edge} rate tried, so a {other} one may score higher "
            "still."
        )
    questions = int(table["questions"].iloc[0])
    if questions < profile_questions:
        share = {2: "half", 4: "a quarter", 8: "an eighth"}.get(
            round(profile_questions / questions), f"{questions / profile_questions:.0%}"
        )
        text += (
            f" The check trained on {questions:,} questions, {share} of the profile's "
            f"{profile_questions:,}: whether the ranking holds at the profile's budget is not "
            "tested."
        )
    return text


def rate_verdict(table: pd.DataFrame, default: float) -> str:
    """What one committed learning-rate check decided, against the profile's `default`."""
    chosen = float(table.loc[table["chosen"], "learning_rate"].iloc[0])
    best = table.loc[table["f1"].idxmax()]
    ours, top = rate_text(default), rate_text(best.learning_rate)
    if chosen == default and best.learning_rate == default:
        return f"The profile's {ours} scored highest."
    if chosen == default:
        paired = f"[{best.change_low:+.1f}, {best.change_high:+.1f}]"
        return (
            f"{top} scored {best.change:+.1f} F1 above {ours}, within the noise of the paired "
            f"comparison ({paired})."
        )
    row = table.loc[table["learning_rate"] == chosen].iloc[0]
    return (
        f"{rate_text(chosen)} beat {ours} by {row.change:+.1f} F1 [{row.change_low:+.1f}, "
        f"{row.change_high:+.1f}], a paired 95% interval above zero."
    )


def rate_scores(table: pd.DataFrame) -> str:
    """'F1 47.2 [45.4, 49.0] at 1e-4 and 53.6 [51.8, 55.4] at 2e-4'."""
    return "F1 " + spoken_list([
        f"{r.f1:.1f} [{r.f1_low:.1f}, {r.f1_high:.1f}] at {rate_text(r.learning_rate)}"
        for r in table.itertuples()
    ])  # fmt: skip


def learning_rate_sentence(root: Path) -> str:
    """The quick profile's learning rate against others on validation.

    `learning_rate.csv` screens several rates at a reduced budget; `learning_rate_<N>.csv`, where
    N is the profile's number of training questions, is the check at its own budget and, when
    committed, decides.
    """
    from qa_utils.project.config import get_profile

    if not (root / REFERENCE / "learning_rate.csv").is_file():
        return (
            "The quick profile's learning rate predates the split and was chosen on dev-set F1; "
            "`python -m benchmarks.learning_rate` re-checks it on the validation split (not run "
            "yet: no `learning_rate.csv` is committed)."
        )
    quick = get_profile("quick")
    table = read_csv(root, REFERENCE / "learning_rate.csv").sort_values("learning_rate")
    first = table.iloc[0]
    default = float(first.profile_rate)
    chosen = float(table.loc[table["chosen"], "learning_rate"].iloc[0])
    text = (
        f"The quick profile's learning rate was checked there (`benchmarks/learning_rate.py`, "
        f"{int(first.questions):,} training questions per rate, {int(first.scored):,} validation "
        f"questions): {rate_scores(table)}. {rate_verdict(table, default)}"
    )
    full = REFERENCE / f"learning_rate_{quick.train_questions}.csv"
    if (root / full).is_file():
        text += rate_caveats(table, chosen, int(first.questions))  # the grid's edge only
        budget = read_csv(root, full).sort_values("learning_rate")
        chosen = float(budget.loc[budget["chosen"], "learning_rate"].iloc[0])
        text += (
            f" At the profile's own budget ({quick.train_questions:,} questions, `{full.name}`, "
            f"the same validation questions): {rate_scores(budget)}. "
            f"{rate_verdict(budget, default)}"
        )
    else:
        text += rate_caveats(table, chosen, quick.train_questions)
    return text + rate_outcome(default, chosen, quick.learning_rate)


def rate_outcome(default: float, chosen: float, now: float) -> str:
    """What the profile did with the check: kept its rate, took the chosen one, or not yet.

    >>> rate_outcome(1e-4, 2e-4, 2e-4)
    ' The quick profile now says 2e-4, the rate the check chose (it said 1e-4 when checked).'
    """
    if now == chosen == default:
        return f" The profile keeps {rate_text(now)}."
    if now == chosen:
        return (
            f" The quick profile now says {rate_text(now)}, the rate the check chose (it said "
            f"{rate_text(default)} when checked)."
        )
    return (
        f" The profile says {rate_text(now)}, not the rate the check chose: its model would need "
        "retraining."
    )


def pairs_text(pairs: int) -> str:
    """'one pair', '3 pairs'."""
    return "one pair" if pairs == 1 else f"{pairs} pairs"


def distillation_choice_sentence(root: Path) -> str:
    """The distillation setting chosen on validation (`distillation_selection.csv`)."""
    from qa_utils.chapter.optimize import selection_rate_text
    from qa_utils.training.distill import ALPHA, TEMPERATURE

    if not (root / REFERENCE / "distillation_selection.csv").is_file():
        return (
            "The distillation temperature and weight also predate it (chosen on dev-set F1); "
            "`python -m benchmarks.distillation --select-on validation` re-derives them (not run "
            "yet: no `distillation_selection.csv` is committed)."
        )
    table = read_csv(root, REFERENCE / "distillation_selection.csv")
    settings = table.groupby(["temperature", "alpha"], as_index=False).agg(
        f1=("distilled_f1", "mean"), gain=("gain", "mean"), pairs=("gain", "size")
    )
    best = settings.loc[settings["f1"].idxmax()]
    scores = spoken_list([
        f"{r.f1:.1f} (T = {r.temperature:g}, alpha = {r.alpha:g})" for r in settings.itertuples()
    ])  # fmt: skip
    same = best.temperature == TEMPERATURE and best.alpha == ALPHA
    verdict = (
        "the setting `qa_utils.training.distill` uses"
        if same
        else f"not the committed default (T = {TEMPERATURE:g}, alpha = {ALPHA:g})"
    )
    return (
        f"The distillation setting, first chosen on dev-set F1, was re-checked there "
        f"(`benchmarks/distillation.py "
        f"--select-on validation`: {spoken_list([f'{q:,}' for q in sorted(set(table.questions))])} "
        f"training questions, {int(table.scored_questions.iloc[0]):,} validation questions, "
        f"{pairs_text(int(settings.pairs.max()))} of students per setting): distilled F1 "
        f"{scores}; the best, T = {best.temperature:g} and alpha = {best.alpha:g}, is {verdict}."
        f"{settings_noise_text(settings, root)}{selection_rate_text(table)}"
    )


def settings_noise_text(settings: pd.DataFrame, root: Path) -> str:
    """Whether single pairs can separate the settings: `chapter.optimize.settings_noise`.

    The yardstick is how far the gold-only student alone moves between draws of data and seed
    in the committed `distillation.csv` (an earlier teacher; the student's noise is the point).
    """
    from qa_utils.chapter.optimize import settings_noise

    source = REFERENCE / "distillation.csv"
    pairs = read_csv(root, source) if (root / source).is_file() else None
    return settings_noise(settings, pairs)


# --- benchmarks/reference ------------------------------------------------------------------------


def markdown_rows(text: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table in `text` (pandas' `to_markdown` output)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return [dict(zip(cells[0], row, strict=True)) for row in cells[2:]]


@renderer("eval-batch")
def render_eval_batch(root: Path) -> str:
    """Why `quick` evaluates in batches of 16: the fp32 trial of `eval_throughput.py`."""
    from qa_utils.project.config import get_profile

    source = REFERENCE / "eval_throughput_meta.json"
    trials = field(read_json(root, source), source, "trial_qps")
    fp32 = next((v for k, v in trials.items() if k.startswith("qa_utils fp32")), None)
    if fp32 is None:
        raise ValueError(f"{source}: no trial_qps entry for 'qa_utils fp32'")
    quick, default = get_profile("quick").eval_batch_size, get_profile("full").eval_batch_size
    return (
        f"Evaluation batches hold {default} windows, {quick} under `quick` (on two cores "
        f"{fp32[str(quick)]:.0f} questions/s against {fp32[str(default)]:.0f} with {default}: "
        "the fp32 trial of `benchmarks/eval_throughput.py`)."
    )


@renderer("eval-throughput")
def render_eval_throughput(root: Path) -> str:
    """The pipeline against our fp32 and int8 paths (`eval_throughput.md` and its metadata)."""
    meta = read_json(root, REFERENCE / "eval_throughput_meta.json")
    rows = []
    for row in markdown_rows(read_text(root, REFERENCE / "eval_throughput.md")):
        agree = f"{float(row['agreement_pct']):.1f}%"
        if row["path"].startswith("qa_utils"):
            agree += f" ({float(row['agreement_1_window_pct']):.1f}% of one-window questions)"
        rows.append([
            row["path"], f"{float(row['questions_per_s']):.1f}", f"{float(row['ratio']):.2f}",
            agree, f"{float(row['exact_match']):.1f}", f"{float(row['f1']):.2f}",
        ])  # fmt: skip
    head = [f"path ({meta['questions']:,} dev questions, {meta['threads']} threads)"]
    head += ["questions/s", "ratio", "same answer as the pipeline", "EM", "F1"]
    return (
        md_table(head, rows) + "\n\n"
        f"Measured on {hardware_text(meta.get('hardware'))} ({load_text(meta['load_average'])}; "
        "`benchmarks/reference/eval_throughput_meta.json`)."
    )


@renderer("explore-size")
def render_explore_size(root: Path) -> str:
    """Generating and drawing the explorer of the whole dev set (`explore_size.txt`)."""
    source = REFERENCE / "explore_size.txt"
    text = read_text(root, source)
    machine = match(r"^machine: .*?(\d+) CPUs, load average ([\d.]+)", text, source)
    site = match(
        r"^site: (\d+) files, ([\d.]+) MB \((\d+) articles, ([\d,]+) questions\)", text, source
    )  # noqa: E501
    index = match(
        r"^index page \+ its data: (\d+) KB; app.js \+ style.css.*: (\d+) KB", text, source
    )
    pages = match(r"median (\d+) KB, smallest (\d+) KB, largest (\d+) KB \((\S+)\)", text, source)
    drawn = re.findall(r"^browser: (\S+) drawn in (\d+) ms", text, re.M)
    rows = [
        [re.sub(r"\((--[\w-]+)\)", r"(`\1`)", m[1]), f"{m[2]} s", f"{m[3]} s"]
        for m in re.finditer(
            r"^generation, (.+): median ([\d.]+) s wall .*, ([\d.]+) s CPU", text, re.M
        )  # noqa: E501
    ]
    draw = " and ".join(f"`{page}` in {ms} ms" for page, ms in drawn)
    return (
        f"Whole dev set ({site[3]} articles, {site[4]} questions; a synthetic system with "
        f"confidences, as the committed `{source}` from `python -m benchmarks.explore_size`; "
        f"{machine[1]} shared cores, load average {machine[2]}):\n\n"
        + md_table(["generating the site", "wall (median of 3)", "CPU"], rows)
        + f"\n\nThe site is {site[2]} MB in {site[1]} files: the index page with its data "
        f"{index[1]} KB, `app.js` + `style.css` {index[2]} KB, an article page with its data "
        f"{pages[1]} KB (median; {pages[2]} KB smallest, {pages[3]} KB largest: `{pages[4]}`). "
        f"Headless Chromium draws {draw} (navigation to the end of the load event)."
    )


VARIANT_LABELS = {
    "pytorch fp32": "PyTorch fp32 (baseline)",
    "pytorch int8 dynamic": "PyTorch int8 dynamic (fbgemm)",
    "pytorch int8, sensitive fp32": "PyTorch int8, sensitive layers fp32",
    "onnxruntime fp32": "ONNX Runtime fp32 (fused graph)",
    "onnxruntime int8 dynamic": "ONNX Runtime int8 dynamic",
    "onnxruntime int8, sensitive fp32": "**ONNX Runtime int8, sensitive layers fp32**",
    "student distilled": "3-layer student, distilled (first pair)",
    "student gold only": "3-layer student, gold labels only (first pair)",
}
"""The README's names of `benchmarks/optimize.py`'s variants (the recommended one in bold)."""


@renderer("optimize")
def render_optimize(root: Path) -> str:
    """Every variant of `benchmarks/optimize.py` side by side (`optimize.csv`)."""
    table = read_csv(root, REFERENCE / "optimize.csv")
    rows = []
    for r in table.itertuples():
        student = str(r.variant).startswith("student")
        rows.append([
            VARIANT_LABELS.get(r.variant, r.variant), f"{r.p50_ms:.1f}", f"{r.batch1_speedup:.2f}",
            f"{r.questions_per_s:.1f}", f"{r.size_mb:.1f}", f"{r.linear_mb:.1f}", f"{r.f1:.2f}",
            "" if student else f"{r.f1_drop:.2f}",
        ])  # fmt: skip
    head = ["variant", "batch-1 p50 (ms)", "batch-1 speed-up", "batched q/s", "size (MB)"]
    return md_table(head + ["Linear (MB)", "F1", "F1 drop"], rows)


@renderer("optimize-checks")
def render_optimize_checks(root: Path) -> str:
    """The checks `benchmarks/optimize.py` printed (`optimize_checks.txt`), verbatim."""
    source = REFERENCE / "optimize_checks.txt"
    text = read_text(root, source)
    meta = read_json(root, REFERENCE / "optimize_meta.json")
    kept = match(r"^kept in fp32 \(([^)]*)\): \[(.*)\]", text, source)
    checks = re.findall(r"^(PASS|FAIL)\s+(.+)$", text, re.M)
    passed = sum(verdict == "PASS" for verdict, _ in checks)
    layers = ", ".join(f"`{name.strip()}`" for name in kept[2].replace("'", "").split(","))
    lines = [f"- {verdict} {what}" for verdict, what in checks]
    return (
        f"Checks of that run ({passed} of {len(checks)} PASS; {load_text(meta['load_average'])},"
        f" `{source}`):\n\n" + "\n".join(lines) + f"\n\nKept in fp32 ({kept[1]}): {layers}."
    )


def gain_margin(root: Path) -> float:
    """The distillation gain `benchmarks/optimize.py` requires, as its checks printed it."""
    source = REFERENCE / "optimize_checks.txt"
    return float(match(r"student F1 >= ([\d.]+)", read_text(root, source), source)[1])


@renderer("distillation")
def render_distillation(root: Path) -> str:
    """The three pairs of students of `benchmarks/optimize.py` (`distillation.csv`)."""
    table = read_csv(root, REFERENCE / "distillation.csv")
    rows = [
        [f"{r.data_seed}, {r.train_seed}", f"{r.distilled_f1:.2f}", f"{r.gold_only_f1:.2f}",
         f"{r.gain:+.2f}"]
        for r in table.itertuples()
    ]  # fmt: skip
    rows.append([
        "mean", f"{table.distilled_f1.mean():.2f}", f"{table.gold_only_f1.mean():.2f}",
        f"**{table.gain.mean():+.2f}** (smallest {table.gain.min():+.2f})",
    ])  # fmt: skip
    head = ["pair (data seed, training seed)", "distilled F1", "gold-only F1", "gain"]
    return md_table(head, rows)


@renderer("distillation-sizes")
def render_distillation_sizes(root: Path) -> str:
    """How the distillation gain depends on the amount of gold data (`distillation_sizes.csv`)."""
    table = read_csv(root, REFERENCE / "distillation_sizes.csv")
    sizes = table.groupby("questions").agg(
        gold=("gold_only_f1", "mean"), distilled=("distilled_f1", "mean"),
        gain=("gain", "mean"), low=("gain", "min"), high=("gain", "max"), pairs=("gain", "size"),
    )  # fmt: skip
    rows = [
        [f"{q:,}", f"{s.gold:.2f}", f"{s.distilled:.2f}", f"{s.gain:+.2f}", f"{s.low:+.2f}",
         f"{s.high:+.2f}"]
        for q, s in sizes.iterrows()
    ]  # fmt: skip
    margin = gain_margin(root)
    every = [f"{q:,}" for q, s in sizes.iterrows() if s.low >= margin]
    on_average = [f"{q:,}" for q, s in sizes.iterrows() if s.gain >= margin > s.low]
    head = ["training questions per pair", "gold-only F1 (mean)", "distilled F1 (mean)"]
    text = md_table(head + ["gain: mean", "smallest", "largest"], rows)
    text += (
        f"\n\nThe check's margin of {margin:g} F1 holds in every pair at "
        f"{spoken_list(every) or 'no size'} questions"
    )
    if on_average:
        text += f", and only on average at {spoken_list(on_average)}"
    return text + f" ({int(sizes.pairs.max())} pairs per size)."


@renderer("pruning")
def render_pruning(root: Path) -> str:
    """Magnitude and head pruning (`pruning.csv`) and the sparse kernel (`sparse_matmul.csv`)."""
    table = read_csv(root, REFERENCE / "pruning.csv")
    base = table[table.method == "none"].iloc[0]
    rows = [
        [r.method, f"{r.amount:.0%}", f"{r.nonzero_parameters:,}", f"{r.questions_per_s:.1f}",
         f"{r.questions_per_s / base.questions_per_s:.2f}", f"{r.f1:.2f}",
         f"{r.f1 - base.f1:+.2f}"]
        for r in table.itertuples()
    ]  # fmt: skip
    sparse = read_csv(root, REFERENCE / "sparse_matmul.csv")
    wins = sparse[sparse.sparse_csr_ms < sparse.dense_ms]
    dense0 = sparse.iloc[0]
    head = ["method", "amount", "non-zero parameters", "batched q/s", "speed-up", "F1", "F1 change"]
    text = md_table(head, rows) + "\n\n"
    if len(wins):
        first = wins.iloc[0]
        text += (
            f"A CSR sparse kernel beats the dense one only from {first.sparsity:.0%} zeros on "
            f"({first.sparse_csr_ms:.1f} against {first.dense_ms:.1f} ms there; "
            f"{dense0.sparse_csr_ms:.1f} against {dense0.dense_ms:.1f} ms at "
            f"{dense0.sparsity:.0%}; `sparse_matmul.csv`)."
        )
    else:
        text += "A CSR sparse kernel never beats the dense one in `sparse_matmul.csv`."
    return text


@renderer("service-load")
def render_service_load(root: Path) -> str:
    """Closed-loop load and hostile requests against the service (`service_load.json`)."""
    source = REFERENCE / "service_load.json"
    data = read_json(root, source)
    machine = field(data, source, "machine")
    rows = []
    for s in field(data, source, "scenarios"):
        flags = "default limits" if s["name"] == "default" else f"`{s['flags']}`"
        rows.append([
            flags, f"{s['requests']:,}", f"{s['throughput']:.1f}",
            f"{s['p50_ms']:.0f} / {s['p95_ms']:.0f} / {s['p99_ms']:.0f}", f"{s['rate_503']:.1%}",
            f"{s['failed']}", f"{s['rss_growth_mb']:+.1f} MB",
        ])  # fmt: skip
    head = ["scenario", "requests", "answered/s", "p50 / p95 / p99 ms", "503", "failed"]
    hostile = "; ".join(
        f"{name}: {h['status']} in {h['seconds']:.2f} s ({h['rss_growth_mb']:+.1f} MB of server "
        "memory at its peak)"
        for name, h in field(data, source, "hostile").items()
    )
    before, after = machine["load_average_before"][0], machine["load_average_after"][0]
    return (
        f"The committed run (`{source}`; {machine['cores']}-core {machine['cpu']}, the service "
        f"on {machine['service_threads']}, load average {before:.1f} to {after:.1f} from other "
        "jobs):\n\n"
        + md_table(head + ["server RSS growth under load"], rows)
        + f"\n\nHostile requests, one of each kind: {hostile}."
    )


@renderer("drift")
def render_drift(root: Path) -> str:
    """The default CUSUM detector's delay and false alarms on seeded streams (`drift.json`)."""
    source = REFERENCE / "drift.json"
    d = read_json(root, source)
    c = field(d, source, "config")
    late = 1 - d["within_bound"] - d["early"] - d["missed"]
    missed = f"{d['missed']:.0%} never" if d["missed"] else "none missed"
    return (
        f"With its defaults (a reference of {c['reference']} scores, k = {c['k']:g}, "
        f"h = {c['h']:g} standard deviations), in **{d['within_bound']:.0%} of {d['runs']} "
        f"seeded synthetic streams** it flagged a drop of mean F1 from {d['mean_before']:.0f} to "
        f"{d['mean_after']:.0f} **within {d['bound']} scores after the shift started**, plus the "
        f"feedback delay D (Wald's estimate h / (δ − k) = {d['wald_delay']:.0f} for the streams' "
        f"drop of δ = {d['drop_in_std']:.2f} standard deviations; an estimate from one stream's "
        "own measured drop, as in notebook 06, varies with the stream). Those streams had "
        f"{d['length']} scores, shifted at {d['shift_at']}: median delay "
        f"{d['delay_median']:.0f}, 95th percentile {d['delay_p95']:.0f}, the slowest "
        f"{d['delay_max']}; {d['early']:.0%} alarmed before the shift, {late:.0%} later than "
        f"{d['bound']}, {missed}; unshifted, {d['false_alarm']:.0%} of such streams raise a false "
        f"alarm somewhere in their {d['monitored']} monitored scores (`python -m "
        f"benchmarks.drift`, `{source}`)."
    )


@renderer("robustness")
def render_robustness(root: Path) -> str:
    """F1 under perturbations with paired intervals (`robustness.csv` and its metadata)."""
    source, meta_source = REFERENCE / "robustness.csv", REFERENCE / "robustness_meta.json"
    if not (root / source).is_file():
        return (
            f"*No committed run yet (`{source}`): `python -m benchmarks.robustness --model "
            "MODEL` writes it; notebook 06 computes the same table in every run.*"
        )
    table = read_csv(root, source)
    meta = read_json(root, meta_source)
    rows = [
        [CONDITION_LABELS.get(r.condition, r.condition),
         f"{r.f1:.2f} [{r.f1_low:.2f}, {r.f1_high:.2f}]",
         "" if r.condition == "clean" else f"{r.drop:.2f} [{r.drop_low:.2f}, {r.drop_high:.2f}]"]
        for r in table.itertuples()
    ]  # fmt: skip
    head = [f"condition ({meta['questions']:,} dev questions)", "F1 [95% CI]", "drop against clean"]
    return (
        md_table(head, rows)
        + f"\n\nIntervals: {meta['resamples']:,} bootstrap resamples of the questions, paired "
        f"for the drops. The whole benchmark took {meta['seconds']:.0f} s on "
        f"{hardware_text(meta.get('hardware'))} ({load_text(meta['load_average'])}; model "
        f"`{meta['model']}`)."
    )


CONDITION_LABELS = {
    "clean": "clean",
    "typos": "typos in the question",
    "rewrites": "rule-based rewrites",
    "distractor (end)": "AddOneSent-style distractor, end",
    "distractor (random)": "distractor, random position",
}
"""The README's names of `qa_utils.robustness.perturb`'s conditions."""


def _interval(value: float, low: float, high: float, sign: str = "") -> str:
    """'71.21 [69.90, 72.50]' (with sign '+', '+1.20 [-0.40, +2.80]')."""
    return f"{value:{sign}.2f} [{low:{sign}.2f}, {high:{sign}.2f}]"


@renderer("shift")
def render_shift(root: Path) -> str:
    """The SQuADShifts table and effective robustness of `benchmarks/shift.py`'s committed run."""
    import json

    import pandas as pd

    from qa_utils.analysis.trend import verdict

    folder = root / "benchmarks" / "reference"
    table = pd.read_csv(folder / "shift.csv")
    trend = pd.read_csv(folder / "shift_trend.csv").set_index("set")
    lines = [
        "| set | questions | EM [95% CI] | F1 [95% CI] | F1 drop against SQuAD dev [95% CI] "
        "| the published line predicts | effective robustness [95% CI] | questions/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        er = trend.loc[r.set] if r.set in trend.index else None
        lines.append(
            f"| {r.set} | {r.n:,} | {_interval(r.em, r.em_low, r.em_high)} "
            f"| {_interval(r.f1, r.f1_low, r.f1_high)} "
            f"| {'' if er is None else _interval(r.drop, r.drop_low, r.drop_high)} "
            f"| {'' if er is None else f'{er.predicted:.2f}'} "
            f"| {'' if er is None else _interval(er.er, er.er_low, er.er_high, '+')} "
            f"| {r.questions_per_second:.1f} |"
        )
    verdicts = "; ".join(
        f"{verdict(r.er_low, r.er_high)} its SQuAD F1 predicts on {name}"
        for name, r in trend.iterrows()
    )
    meta = json.loads((folder / "shift_meta.json").read_text())
    load = meta["load_average"]
    return "\n".join(lines) + (
        "\n\nAgainst the trend of the published models with a SQuAD v1.1 score "
        f"({trend['models'].min()} to {trend['models'].max()} models per set; a line fitted per "
        f"set on logit-transformed F1), the quick model is {verdicts}. The model answered the "
        f"{table['n'].sum():,} questions in {meta['total_s'] / 60:.0f} minutes on the 2-core "
        f"Xeon while other jobs ran (load average {load['start']:.1f} at the start, "
        f"{load['end']:.1f} at the end)."
        "\n\n![Shifted F1 against SQuAD F1: published models, their trend and the quick model]"
        "(benchmarks/reference/shift_trend.png)\n"
    )


@renderer("unanswerable")
def unanswerable_block(root: Path) -> str:
    """The four-way SQuAD 2.0 comparison (`benchmarks/reference/unanswerable.csv`)."""
    # The chapter module loads torch; only this block needs it.
    from qa_utils.chapter.unanswerable import comparison_table, reference_comparison

    rows = reference_comparison(root / "benchmarks" / "reference")
    if rows is None:
        return "_No committed comparison yet (`benchmarks/reference/unanswerable.csv`)._"
    overall = rows[rows["group"] == "all"].drop_duplicates("way").set_index("way")
    table = comparison_table(rows).drop(columns="questions")
    started = overall["start"].fillna("").astype(str)
    table["trained on (unanswerable)"] = [
        f"{int(n):,} ({int(u):,})" + (f", from the {s}" if s else "")
        for n, u, s in zip(
            overall["train_questions"], overall["train_unanswerable"], started, strict=True
        )
    ]
    n = int(overall["n"].iloc[0])
    note = (
        f"F1 on {n:,} questions of the report half (articles no way trained or tuned on), "
        "95% bootstrap intervals; threshold: null score minus best span score (inf: never "
        "abstains), chosen on the validation slice."
    )
    return table.to_markdown() + "\n\n" + note


# --- profiles and data facts ---------------------------------------------------------------------

PROFILE_USES = {
    "smoke": "tests and CI: every notebook on a few dozen questions",
    "quick": "a 2-core CPU (the published run's times are under Two commands)",
    "full": "the chapter's recipe on a GPU",
}
"""What each profile is for (the last column of the README's profile table)."""


def model_text(model: str) -> str:
    """'embedded MiniLM-L6-H384' for the embedded model, else its Hub name.

    >>> model_text("google-bert/bert-base-uncased")
    '`bert-base-uncased` (Hub)'
    """
    from qa_utils.project.config import EMBEDDED_MODEL

    return (
        "embedded MiniLM-L6-H384" if model == EMBEDDED_MODEL else f"`{model.split('/')[-1]}` (Hub)"
    )


@renderer("profiles")
def render_profiles(root: Path) -> str:
    """The profile table from `qa_utils.project.config.PROFILES`, with the training pool's size."""
    from qa_utils.core.data import VALIDATION_SHARE
    from qa_utils.project.config import PROFILES

    rows = [
        [f"`{p.name}`", model_text(p.model),
         f"{p.train_questions:,} questions" if p.train_questions
         else f"all {TRAIN_QUESTIONS_OUTSIDE_VALIDATION:,}",
         f"{p.epochs:g}", rate_text(p.learning_rate), f"{p.batch_size}",
         f"{p.max_length} / {p.doc_stride}",
         PROFILE_USES.get(p.name, "") + (" (bf16)" if p.bf16 else "")]
        for p in PROFILES.values()
    ]  # fmt: skip
    rows.append(["`auto`", "`full` with a GPU and the Hub, else `quick`", *[""] * 5, "the default"])
    head = ["profile", "model", "training data", "epochs", "lr", "batch", "max length / stride"]
    return md_table(head + ["for"], rows) + (
        "\n\nTraining questions are drawn from the training articles outside the validation split "
        f"(`qa_utils.training.train.training_questions`): {TRAIN_QUESTIONS_OUTSIDE_VALIDATION:,} "
        f"of SQuAD v1.1's {SQUAD_TRAIN_QUESTIONS:,}. The split's hash threshold of "
        f"{VALIDATION_SHARE:.0%} holds out {VALIDATION_ARTICLES} of the {SQUAD_TRAIN_ARTICLES} "
        f"articles in practice ({VALIDATION_ARTICLES / SQUAD_TRAIN_ARTICLES:.1%}), with "
        f"{VALIDATION_QUESTIONS:,} questions."
    )


SQUAD_V2_DEV_QUESTIONS, SQUAD_V2_DEV_UNANSWERABLE = 11_873, 5_945
"""Questions of `dev-v2.0-rebuilt.json`, and how many have no answer (pinned by the tests)."""


@renderer("squad-v2-dev")
def render_squad_v2_dev(root: Path) -> str:
    """How many SQuAD 2.0 dev questions have no answer."""
    share = SQUAD_V2_DEV_UNANSWERABLE / SQUAD_V2_DEV_QUESTIONS
    return (
        "About a third of SQuAD 2.0's questions overall have no answer in their passage, and "
        f"{share:.0%} of its dev set's ({SQUAD_V2_DEV_UNANSWERABLE:,} of "
        f"{SQUAD_V2_DEV_QUESTIONS:,} in `../shared/squad/dev-v2.0-rebuilt.json`); a model must "
        "abstain. Everything above works on SQuAD 2.0 files too (there is no SQuAD 2.0 training "
        "set offline):"
    )
