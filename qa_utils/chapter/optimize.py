"""Sentences of notebook 05, rendered from its tables so that its prose quotes what it measured.

Each function takes a table the notebook computed (`qa_utils.optimize.bench`, `.gpu`,
`.prune`) and returns one Markdown sentence; nothing here measures anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from qa_utils.optimize import bench
from qa_utils.optimize.bench import BASELINE, RECOMMENDED
from qa_utils.project.paths import project_root

__all__ = ["BASELINE", "RECOMMENDED"]  # re-exported: the notebook and tests name them from here

INT8_PAIRS = (
    ("every Linear layer in int8", "pytorch int8 dynamic", "onnxruntime int8 dynamic"),
    ("the sensitive layers kept in fp32", "pytorch int8, sensitive fp32", RECOMMENDED),
)
"""The PyTorch and ONNX Runtime rows quantized alike, in pairs: (what, PyTorch row, ORT row)."""

SIMILAR_LOAD = 0.2
"""Two load averages within this fraction of the larger one are called similar."""


def shown_path(path: str | Path, root: Path | None = None) -> str:
    """A path as the notebook prints it: relative to the project, never a machine's absolute path.

    Absolute paths inside `root` (default: the project root) are given relative to it; others
    by their last two parts (the run folder and the model folder, say). Published notebooks drop
    any output that shows a machine path (`qa_utils.workflow.publish.keep_output`).

    >>> shown_path("/work/x/runs/quick-1/model", Path("/work/x"))
    'runs/quick-1/model'
    >>> shown_path("/elsewhere/runs/quick-1/model", Path("/work/x"))
    'quick-1/model'
    >>> shown_path("runs/quick/model")
    'runs/quick/model'
    """
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    root = (root or project_root()).resolve()
    if path.resolve().is_relative_to(root):
        return path.resolve().relative_to(root).as_posix()
    return Path(*path.parts[-2:]).as_posix()


def model_description(model_path: str | Path) -> str:
    """Which model the notebook measures, in words (the folder, or the untrained embedded one).

    >>> model_description("embedded")
    'embedded MiniLM (its QA head untrained: F1 is noise, speeds are real)'
    >>> model_description("runs/quick/model")
    'fine-tuned model in runs/quick/model'
    """
    if str(model_path) == "embedded":
        return "embedded MiniLM (its QA head untrained: F1 is noise, speeds are real)"
    return f"fine-tuned model in {shown_path(model_path)}"


def machine_table(hardware: dict[str, Any], versions: dict[str, str]) -> pd.DataFrame:
    """Machine, threads and library versions as one two-column table (platform string left out).

    >>> machine_table({"cpu": "x", "platform": "p"}, {"torch": "2"})["value"].tolist()
    ['x', '2']
    """
    rows = {k: v for k, v in hardware.items() if k != "platform"} | versions
    return pd.DataFrame({"item": list(rows), "value": [str(v) for v in rows.values()]})


def _size(nbytes: float, unit: str) -> str:
    """Bytes in KB or MB (powers of 1024), one decimal."""
    return f"{nbytes / (1024 if unit == 'KB' else 1024**2):.1f} {unit}"


def int8_bytes_sentence(fp32: dict[str, int], int8: dict[str, int], name: str) -> str:
    """Why int8 keeps more than a quarter of the Linear bytes (`bench.linear_byte_parts` of each).

    The weights shrink fourfold; the biases stay fp32, int8 adds a scale and a zero point per
    output channel, and every layer serialized on its own carries `torch.save`'s headers.
    """
    unit = "KB" if int8["total"] < 1024**2 else "MB"
    rest = int8["total"] - int8["weights"]
    return (
        f"In the {name}'s Linear layers the weights go from {_size(fp32['weights'], unit)} to "
        f"{_size(int8['weights'], unit)} ({int8['weights'] / fp32['weights']:.0%}); the rest does "
        f"not shrink: the biases stay fp32 ({_size(int8['biases'], unit)}), int8 adds a scale and "
        f"a zero point per output channel ({_size(int8['scales'], unit)}), and each layer, "
        f"serialized on its own, carries `torch.save`'s headers ({_size(fp32['headers'], unit)} "
        f"in fp32, {_size(int8['headers'], unit)} in int8). That rest is "
        f"{rest / int8['total']:.0%} of the int8 bytes, so int8 keeps "
        f"{int8['total'] / fp32['total']:.0%} of the fp32 Linear bytes. Embeddings and "
        "LayerNorm are not Linear layers: they stay fp32 and count only in a whole model's size."
    )


def _spoken(names: Sequence[str]) -> str:
    """Bold names joined as in a sentence: **a**, **b** and **c**."""
    bold = [f"**{n}**" for n in names]
    return bold[0] if len(bold) == 1 else ", ".join(bold[:-1]) + " and " + bold[-1]


def tradeoff_sentence(table: pd.DataFrame) -> str:
    """What the trade-off figure shows: the fastest, the most accurate and the smallest variant.

    Variants whose F1 is equal at the one decimal shown are named together.
    """
    by = table.set_index("variant")
    fast, small = by["p50_ms"].idxmin(), by["size_mb"].idxmin()
    shown = by["f1"].round(1)
    best = [name for name in by.index if shown[name] == shown.max()]
    highest = (
        f"Highest is {_spoken(best)}"
        if len(best) == 1
        else f"Highest, tied at one decimal, are {_spoken(best)}"
    )
    return (
        f"Furthest left is **{fast}**: {by.loc[fast, 'p50_ms']:.1f} ms per question at the "
        f"median, {by.loc[fast, 'batch1_speedup']:.2f}x the speed of {BASELINE}, at F1 "
        f"{by.loc[fast, 'f1']:.1f}. {highest} (F1 {shown.max():.1f}); the "
        f"smallest marker is **{small}**, {by.loc[small, 'size_mb']:.1f} MB against "
        f"{by.loc[BASELINE, 'size_mb']:.1f} MB for {BASELINE}."
    )


def mixed_sentence(table: pd.DataFrame, kept: int) -> str:
    """How much of the F1 that int8 loses in ONNX Runtime the layers kept in fp32 win back."""
    by = table.set_index("variant")
    full, mixed = by.loc["onnxruntime int8 dynamic", "f1_drop"], by.loc[RECOMMENDED, "f1_drop"]
    return (
        f"Quantizing every Linear layer changes ONNX Runtime's F1 by {-full:+.2f} against fp32; "
        f"keeping the {kept} most sensitive layers in fp32 makes it {-mixed:+.2f}, at "
        f"{by.loc[RECOMMENDED, 'batch1_speedup']:.2f}x the baseline's batch-1 speed."
    )


def _who_more(values: list[tuple[float, float]], more: str) -> str:
    """Which backend has the larger value in every pair of (PyTorch, ONNX Runtime) values."""
    winners = {
        "PyTorch" if pt > ort else "ONNX Runtime" if ort > pt else "neither" for pt, ort in values
    }
    if winners == {"neither"}:
        return f"neither backend {more} in any pair"
    if len(winners) == 1:
        return f"{winners.pop()} {more} in {'both pairs' if len(values) == 2 else 'every pair'}"
    return f"which backend {more} changes from pair to pair"


def _backend_facts(by: pd.DataFrame) -> tuple[str, str]:
    """The int8 pairs' F1 changes and agreements, and who lost more F1 and agreed less."""
    drops = [(round(by.loc[pt, "f1_drop"], 2), round(by.loc[o, "f1_drop"], 2))
             for _, pt, o in INT8_PAIRS]  # fmt: skip
    agree = [(round(by.loc[pt, "agreement_pct"], 1), round(by.loc[o, "agreement_pct"], 1))
             for _, pt, o in INT8_PAIRS]  # fmt: skip
    facts = "; ".join(
        f"{what}, F1 {-d_pt:+.2f} and {-d_ort:+.2f}, {a_pt:.1f}% and {a_ort:.1f}% of answers "
        "identical to fp32"
        for (what, _, _), (d_pt, d_ort), (a_pt, a_ort) in zip(INT8_PAIRS, drops, agree, strict=True)
    )
    lower = [(-a_pt, -a_ort) for a_pt, a_ort in agree]
    verdict = f"{_who_more(drops, 'lost more F1')}, and {_who_more(lower, 'agreed less with fp32')}"
    return facts, verdict


def backend_sentence(
    table: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    reference_meta: dict[str, Any] | None = None,
    model: str | Path | None = None,
) -> str:
    """PyTorch's int8 against ONNX Runtime's, here and in the committed reference.

    Each pair quantizes the same layers in both backends (`INT8_PAIRS`); F1 changes and answer
    agreement are against the fp32 baseline of the same run. `model` is this run's, to say when
    the reference measured another (`reference_phrase`).
    """
    facts, verdict = _backend_facts(table.set_index("variant"))
    text = (
        f"PyTorch's int8 against ONNX Runtime's in this run (PyTorch first): {facts}. Here "
        f"{verdict}."
    )
    if reference is None:
        return text
    ref_facts, ref_verdict = _backend_facts(reference.set_index("variant"))
    meta = reference_meta or {}
    where = f"{reference_phrase(model, meta)}, on {meta.get('questions', 0):,} questions"
    text += f" In {where}: {ref_facts}; there {ref_verdict}."
    if verdict.split(", and ")[0] != ref_verdict.split(", and ")[0]:
        text += (
            " The two runs disagree on which backend loses more F1, so that order is not a "
            "property of the backends alone."
        )
    return text


BACKEND_PAIRS = (("fp32", BASELINE, "onnxruntime fp32"),) + INT8_PAIRS
"""Every (what, PyTorch row, ORT row) pair of the results table, fp32 first."""


def _pairs(names: Sequence[str]) -> str:
    """The backend pairs named: the **a** pair, or the **a** and **b** pairs."""
    return f"the {_spoken(names)} pair" + ("" if len(names) == 1 else "s")


def batched_sentence(
    table: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    reference_meta: dict[str, Any] | None = None,
    model: str | Path | None = None,
) -> str:
    """ONNX Runtime against PyTorch on the same layers: batch-1 latency and batched throughput.

    Batch-1 is the ratio of median request times (PyTorch's over ORT's), batched the ratio of
    questions per second (ORT's over PyTorch's): above 1 means ONNX Runtime is faster. The
    batch-1 requests are interleaved across variants, but `bench.benchmark` times the batched
    pass once per variant, one after another, so a batched ratio carries the load of its passes.
    """

    def ratios(by: pd.DataFrame) -> list[tuple[str, float, float]]:
        return [
            (what, round(by.loc[pt, "p50_ms"] / by.loc[o, "p50_ms"], 2),
             round(by.loc[o, "questions_per_s"] / by.loc[pt, "questions_per_s"], 2))
            for what, pt, o in BACKEND_PAIRS
            if pt in by.index and o in by.index
        ]  # fmt: skip

    def said(rows: list[tuple[str, float, float]]) -> str:
        return "; ".join(
            f"{what} {one:.2f}x at batch 1, {many:.2f}x batched" for what, one, many in rows
        )

    ours = ratios(table.set_index("variant"))
    faster_one = sum(one > 1 for _, one, _ in ours)
    slower = [what for what, _, many in ours if many < 1]
    faster = [what for what, _, many in ours if many > 1]
    level = [what for what, _, many in ours if many == 1]
    text = (
        f"ONNX Runtime's speed against PyTorch's on the same layers (above 1: ONNX Runtime "
        f"faster), this run: {said(ours)}. ONNX Runtime is faster at batch 1 in {faster_one} "
        f"of {len(ours)} pairs"
    )
    if faster_one == len(ours) and len(slower) == len(ours):
        text += (
            " and slower batched in every one: its lead is in one question's latency, not in "
            "batched throughput."
        )
    else:
        parts = [
            f"{how} in {_pairs(names)}"
            for how, names in (("slower", slower), ("faster", faster), ("level", level))
            if names
        ]
        text += "; batched, it is " + " and ".join(parts) + "."
    mixed = [what for what, one, many in ours if many < 1 < one]
    text += (
        " Batched throughput is one pass per variant, one after another, measured under this "
        "run's load as it was during that pass (the batch-1 requests are interleaved, it is not)"
        + (
            f", so the batched ratio below 1 of {_pairs(mixed)}, against a batch-1 ratio above "
            "1, may be that load rather than the backend."
            if mixed
            else "."
        )
    )
    if reference is not None:
        where = reference_phrase(model, reference_meta)
        text += f" In {where}: {said(ratios(reference.set_index('variant')))}."
    return text


def peak_memory_sentence(
    table: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    reference_meta: dict[str, Any] | None = None,
    model: str | Path | None = None,
) -> str:
    """What `peak_extra_mb` measures (`bench.peak_rss_mb`), its range per backend, its limits."""

    def ranges(by: pd.DataFrame) -> str:
        parts = []
        for backend, prefix in (("PyTorch", "pytorch"), ("ONNX Runtime", "onnxruntime")):
            values = by.loc[by["variant"].str.startswith(prefix), "peak_extra_mb"].round(1)
            if len(values):
                parts.append(f"{values.min():.1f} to {values.max():.1f} MB for {backend}")
        return " and ".join(parts)

    text = (
        "`peak_extra_mb` is how far the process's resident memory rose above its size just "
        "before a variant answered the questions (`bench.peak_rss_mb`): activations and "
        f"workspaces, not the weights already loaded. Here {ranges(table)}"
    )
    if reference is not None:
        text += f"; in {reference_phrase(model, reference_meta)} {ranges(reference)}"
    return text + (
        ". Memory the process already holds from earlier work is reused without growing it, so "
        "the figure depends on what ran before it in the same process and compares variants "
        "within one run, not across runs."
    )


def checks_sentence(table: pd.DataFrame, reference: pd.DataFrame | None = None) -> str:
    """Why each failed check of `bench.int8_checks` fails, from the rows it was computed on."""
    failed = [(what, value) for what, ok, value in bench.int8_checks(table) if not ok]
    if not failed:
        return "Every int8 check passes on this run's table."
    by = table.set_index("variant")
    reasons = []
    for what, value in failed:
        if what.startswith("best ORT") and "speedup" in what:
            reasons.append(_best_ort_reason(by, reference))
        elif "speedup" in what:
            reasons.append(
                f"{RECOMMENDED} runs at {value:.2f}x the baseline's batch-1 speed, under the "
                f"{bench.MIN_RECOMMENDED_SPEEDUP:g}x asked"
            )
        elif "F1 drop" in what:
            row = what.split(":")[0]
            reasons.append(
                f"{row} lost {value:.2f} F1 against fp32 on this run's questions, over the "
                f"{bench.MAX_F1_DROP:.1f} limit"
            )
        else:
            reasons.append(
                f"{RECOMMENDED} keeps {value:.2f} of fp32's Linear bytes, over the "
                f"{bench.MAX_LINEAR_RATIO:g} asked"
            )
    return "Failed checks: " + "; ".join(reasons) + "."


def _best_ort_reason(by: pd.DataFrame, reference: pd.DataFrame | None) -> str:
    """Why the best ONNX Runtime row is too slow: the fastest lost too much F1, or none is fast."""
    ort = by.loc[[v for v in by.index if v.startswith("onnxruntime")]]
    fastest = ort["batch1_speedup"].idxmax()
    best = bench.best_ort(by.reset_index())
    need = f"{bench.MIN_BEST_ORT_SPEEDUP:g}x"
    if fastest == best.name:
        speed = best["batch1_speedup"]
        return f"even the fastest ONNX Runtime row, {fastest}, runs at {speed:.2f}x, under {need}"
    text = (
        f"the fastest ONNX Runtime row, {fastest} ({ort.loc[fastest, 'batch1_speedup']:.2f}x), "
        f"lost {ort.loc[fastest, 'f1_drop']:.2f} F1, over the {bench.MAX_F1_DROP:.1f} limit, so "
        f"the best ORT row is {best.name}, at {best['batch1_speedup']:.2f}x, under {need}"
    )
    if reference is not None and fastest in set(reference["variant"]):
        drop = reference.set_index("variant").loc[fastest, "f1_drop"]
        text += f" (the reference's {fastest} lost {drop:.2f} F1 on its own questions)"
    return text


def students_sentence(students: pd.DataFrame, table: pd.DataFrame) -> str:
    """The students against the teacher, and against the recommended int8 row of section 5.

    Speed-ups are each table's own (against the teacher timed in the same table), so the two
    tables' speed-ups, timed minutes apart under whatever load each met, are said with that caveat.
    """
    apart = "(each against its own table's fp32, timed minutes apart)"
    by = students.set_index("variant")
    teacher = by.loc[BASELINE]
    kids = by.drop(index=BASELINE)
    each = "; ".join(
        f"{name} {row['batch1_speedup']:.2f}x, F1 {row['f1']:.1f}" for name, row in kids.iterrows()
    )
    q8 = table.set_index("variant").loc[RECOMMENDED]
    base_f1 = table.set_index("variant").loc[BASELINE, "f1"]
    q8_loss, kid_loss = base_f1 - q8["f1"], teacher["f1"] - kids["f1"].max()
    verdict = f"int8 gives up {q8_loss:.2f} F1 where the students give up {kid_loss:.1f} or more"
    if q8["batch1_speedup"] >= kids["batch1_speedup"].min():
        verdict += ", at a batch-1 speed-up no lower than the slower student's"
    return (
        f"Against the teacher ({BASELINE}, F1 {teacher['f1']:.1f}, {teacher['size_mb']:.1f} MB), "
        f"the students run at {each}, and take {kids['size_mb'].max():.1f} MB each. The "
        "recommended int8 row of section 5 "
        f"({RECOMMENDED}) runs at {q8['batch1_speedup']:.2f}x {apart}, with F1 "
        f"{-q8['f1_drop']:+.2f} against fp32, at {q8['size_mb']:.1f} MB: {verdict}."
    )


def _same_model(model: str | Path, reference_model: str | None) -> bool:
    """Whether two model folders are the same (relative ones taken from the project root)."""
    if reference_model is None or str(model) == "embedded" or reference_model == "embedded":
        return str(model) == str(reference_model)

    def folder(path: str | Path) -> Path:
        path = Path(path)
        return (path if path.is_absolute() else project_root() / path).resolve()

    return folder(model) == folder(reference_model)


def reference_phrase(model: str | Path | None, reference_meta: dict[str, Any] | None) -> str:
    """'the committed reference', adding which model it measured when that is not this run's.

    The committed references come from one run of `benchmarks/optimize.py` whose
    `optimize_meta.json` names its model; without `model` (None) the two are not compared.

    >>> reference_phrase("runs/a/model", {"model": "runs/b/model"})
    "the committed reference (of an earlier model, `runs/b/model`, not this run's)"
    """
    ref_model = (reference_meta or {}).get("model")
    if model is None or (ref_model and _same_model(model, ref_model)):
        return "the committed reference"
    if not ref_model:
        return (
            "the committed reference (of a model its metadata does not name, maybe not this run's)"
        )
    return (
        f"the committed reference (of an earlier model, `{shown_path(ref_model)}`, not this run's)"
    )


def _capital(text: str) -> str:
    """The text with its first letter in upper case."""
    return text[:1].upper() + text[1:]


def _measured_on(meta: dict[str, Any], model: str | Path, reference_meta: dict[str, Any]) -> str:
    """Which model and how many questions each run measured, in words."""
    ref_model = reference_meta.get("model")
    named = f"`{shown_path(ref_model)}`" if ref_model else "a model its metadata does not name"
    same = "the same model" if _same_model(model, ref_model) else "another model"
    return (
        f"the reference measured {same}, {named}, on {reference_meta.get('questions', 0):,} dev "
        f"questions; this run `{shown_path(model)}` on {meta.get('questions', 0):,}"
    )


def reference_sentence(
    table: pd.DataFrame,
    reference: pd.DataFrame,
    calibration: int,
    reference_calibration: int,
    meta: dict[str, Any],
    reference_meta: dict[str, Any] | None,
    model: str | Path,
) -> str:
    """This run's recommended int8 row against the committed reference's, and why they differ.

    F1 differences are said as changes against each run's fp32 row (int8 F1 minus fp32 F1), as
    `mixed_sentence` says them.

    Args:
        calibration: calibration questions of this run.
        reference_calibration: those of the reference (benchmarks/optimize.py's default).
        meta: this run's `bench.bench_metadata` (questions, load average).
        reference_meta: the reference's (`bench.reference_metadata`: also its model), or None.
        model: the model this run measured.
    """
    ours, ref = table.set_index("variant"), reference.set_index("variant")
    ref_meta = reference_meta or {}
    f1, ref_f1 = ours.loc[RECOMMENDED, "f1"], ref.loc[RECOMMENDED, "f1"]
    base, ref_base = ours.loc[BASELINE, "f1"], ref.loc[BASELINE, "f1"]
    head = f"Recommended int8 ({RECOMMENDED}): F1 {f1:.2f} here, {ref_f1:.2f} in the reference. "
    if round(base, 2) != round(ref_base, 2):
        why = (
            f"The fp32 baselines differ too ({base:.2f} here, {ref_base:.2f} there): "
            f"{_measured_on(meta, model, ref_meta)}. So compare the F1 changes against "
            f"fp32: {-ours.loc[RECOMMENDED, 'f1_drop']:+.2f} here, "
            f"{-ref.loc[RECOMMENDED, 'f1_drop']:+.2f} there."
        )
    elif calibration != reference_calibration:
        why = (
            f"Same model and questions (fp32 F1 {base:.2f} in both); the int8 rows differ because "
            f"this run calibrated the sensitivity scan on {calibration} training questions and "
            f"the reference on {reference_calibration}, so they may keep other layers in fp32."
        )
    else:
        why = (
            f"Same model, questions and {calibration} calibration questions (fp32 F1 {base:.2f} "
            "in both): any difference left comes from the kernels' arithmetic, not from the choice."
        )
    return head + why + " " + speed_sentence(ours, ref, meta, ref_meta)


def _loads(meta: dict[str, Any]) -> tuple[float, float] | None:
    """The 1- and 5-minute load averages a run's metadata recorded, or None.

    They are read when the run writes its results, after the benchmark: the 1-minute figure
    covers its last minute, the 5-minute one most of a short benchmark.
    """
    loads = meta.get("load_average") or []
    return (loads[0], loads[1]) if len(loads) >= 2 else None


def _similar(a: float, b: float) -> bool:
    """Whether two load averages are within `SIMILAR_LOAD` of the larger one."""
    return abs(a - b) <= SIMILAR_LOAD * max(a, b)


def speed_sentence(
    ours: pd.DataFrame, ref: pd.DataFrame, meta: dict[str, Any], reference_meta: dict[str, Any]
) -> str:
    """Both runs' fp32 request times, their loads, and each shared variant's speed-up in both.

    Args:
        ours, ref: the two results tables, indexed by variant.
        meta, reference_meta: their metadata (`load_average`), empty when not recorded.
    """
    text = (
        f"Speeds depend on the machine and its load: {BASELINE} takes "
        f"{ours.loc[BASELINE, 'p50_ms']:.1f} ms per batch-1 request at the median here and "
        f"{ref.loc[BASELINE, 'p50_ms']:.1f} ms there"
    )
    loads, ref_loads = _loads(meta), _loads(reference_meta)
    if loads is None or ref_loads is None:
        text += " (the load of one of the runs was not recorded)."
        return text + _speedups(ours, ref)
    quoted = (
        f"1- and 5-minute load averages {loads[0]:.2f} and {loads[1]:.2f} here, "
        f"{ref_loads[0]:.2f} and {ref_loads[1]:.2f} there, read as each run wrote its results"
    )
    if all(_similar(a, b) for a, b in zip(loads, ref_loads, strict=True)):
        text += (
            f", under similar loads ({quoted}), so the load does not explain the gap: timings "
            "on a shared machine also move within one run (section 7 times the same baseline "
            "again)."
        )
    else:
        higher = {a > b for a, b in zip(loads, ref_loads, strict=True)}
        run = "this run" if higher == {True} else "the reference"
        busier = (
            "which run was busier depends on the window"
            if len(higher) > 1
            else f"other programs took more of the cores during {run}, which may explain part "
            "of the gap"
        )
        text += f", under different loads ({quoted}): {busier}."
    return text + _speedups(ours, ref)


def _speedups(ours: pd.DataFrame, ref: pd.DataFrame) -> str:
    """Each shared variant's batch-1 speed-up in both runs, and in how many it is lower here."""
    shared = [v for v in ours.index if v in ref.index and v != BASELINE]
    if not shared:
        return ""
    pairs = [(round(ours.loc[v, "batch1_speedup"], 2), round(ref.loc[v, "batch1_speedup"], 2))
             for v in shared]  # fmt: skip
    each = "; ".join(
        f"{v} {here:.2f}x here, {there:.2f}x there"
        for v, (here, there) in zip(shared, pairs, strict=True)
    )
    lower = sum(here < there for here, there in pairs)
    verdict = (
        "every one is lower here than there"
        if lower == len(pairs)
        else "none is lower here"
        if lower == 0
        else f"{lower} of {len(pairs)} are lower here"
    )
    return f" Batch-1 speed-ups over each run's own {BASELINE}: {each}; {verdict}."


def repeat_timing_sentence(first: pd.DataFrame, again: pd.DataFrame) -> str:
    """The baseline timed twice in one run (section 5 and section 7): this run's own spread."""
    before = first.set_index("variant").loc[BASELINE, "p50_ms"]
    after = again.set_index("variant").loc[BASELINE, "p50_ms"]
    return (
        f"{BASELINE} takes {after:.1f} ms per batch-1 request at the median here and "
        f"{before:.1f} ms in section 5: the same model on the same questions in one run, so "
        f"timings on this machine moved by {abs(after - before) / before:.0%} between two "
        "measurements; speed-ups within one table are the numbers to compare."
    )


def _noise_band(curve: pd.DataFrame) -> tuple[float, float, pd.Series]:
    """The zeroed rows' speed ratios to no pruning (two decimals) and their band with 1.00x."""
    base = curve[curve["method"] == "none"].iloc[0]
    zeroed = curve[curve["method"] == "magnitude"]
    speed = (zeroed["questions_per_s"] / base["questions_per_s"]).round(2)
    return min(speed.min(), 1.0), max(speed.max(), 1.0), speed


def _head_verdict(ratio: float, low: float, high: float) -> str:
    """A head-pruned speed ratio against the noise band: outside it by its width, or not.

    A band spanned by a handful of zeroed rows understates how far one more timing can stray,
    so a ratio is only called faster (slower) when it clears the band by at least the band's
    own width (`MIN_SPEED_MARGIN` when the band is narrower): one band width beyond is where
    a measurement as noisy as the zeroed ones would rarely land.
    """
    margin = max(round(high - low, 2), MIN_SPEED_MARGIN)
    if ratio > high + margin:
        return "faster than that noise"
    if ratio < low - margin:
        return "slower than that noise"
    if low <= ratio <= high:
        return "within that noise"
    side, how = ("above", "faster") if ratio > high else ("below", "slower")
    return f"{side} that band by less than its width of {margin:.2f}x: not clearly {how}"


MIN_SPEED_MARGIN = 0.03
"""The smallest margin (speed ratio) beyond the noise band that `_head_verdict` accepts."""


def pruning_speeds(curve: pd.DataFrame) -> str:
    """The zeroed rows' speed band and each head-pruned row's speed and verdict, in words."""
    low, high, _ = _noise_band(curve)
    base = curve[curve["method"] == "none"].iloc[0]
    heads = curve[curve["method"] == "heads"]
    ratios = (heads["questions_per_s"] / base["questions_per_s"]).round(2)
    each = "; ".join(
        f"{amount:.0%} of the heads removed {ratio:.2f}x ({_head_verdict(ratio, low, high)})"
        for amount, ratio in zip(heads["amount"], ratios, strict=True)
    )
    return f"zeroed models {low:.2f}x to {high:.2f}x (with the unpruned model); {each}"


def pruning_sentence(
    curve: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    reference_meta: dict[str, Any] | None = None,
    model: str | Path | None = None,
) -> str:
    """Speed and F1 of the zeroed and head-pruned models against no pruning, and the noise.

    Zeroed models do the same work as the unpruned one, so the spread of their speeds (with the
    unpruned 1.00x) is this run's noise; a head-pruned row is only called faster or slower when
    it clears that spread by its width (`_head_verdict`), and two head-pruned rows are only told
    apart when they differ by more than that margin. Speed ratios are compared at the two
    decimals shown, F1 at one, so every difference quoted is the difference of the numbers
    printed. `reference` (the committed `pruning.csv`) adds its speeds, judged alike;
    `reference_meta` and `model` say whether it measured this run's model (`reference_phrase`).
    """
    curve = curve.assign(f1=curve["f1"].round(1))  # differences of the values shown
    base = curve[curve["method"] == "none"].iloc[0]
    heads = curve[curve["method"] == "heads"]
    low, high, speed = _noise_band(curve)
    most = curve[curve["method"] == "magnitude"].iloc[-1]
    span = (
        f"{speed.iloc[0]:.2f}x"
        if len(speed) == 1
        else f"between {speed.min():.2f}x and {speed.max():.2f}x"
    )
    text = (
        f"Zeroing up to {most['amount']:.0%} of the weights leaves the batched speed at {span} "
        f"the unpruned model's, while F1 goes from {base['f1']:.1f} to {most['f1']:.1f}. These "
        f"models do the same work, so that spread ({low:.2f}x to {high:.2f}x, with the unpruned "
        "model) is this run's noise; a head-pruned row is called faster only when it clears it "
        "by the band's width, since a few zeroed rows understate how far one timing can stray."
    )
    ratios = (heads["questions_per_s"] / base["questions_per_s"]).round(2)
    for (_, row), ratio in zip(heads.iterrows(), ratios, strict=True):
        change = row["f1"] - base["f1"]
        moved = f"{change:+.1f}" if round(change, 1) else "unchanged at one decimal"
        text += (
            f" Removing {row['amount']:.0%} of the heads runs at {ratio:.2f}x "
            f"({_head_verdict(ratio, low, high)}), with F1 {row['f1']:.1f} ({moved})."
        )
    if len(ratios) > 1:
        gap = round(ratios.max() - ratios.min(), 2)
        margin = max(round(high - low, 2), MIN_SPEED_MARGIN)
        text += f" The head-pruned rows differ by {gap:.2f}x, " + (
            "no more than that margin: this run cannot tell their speeds apart."
            if gap <= margin
            else "more than that margin."
        )
    if reference is not None and len(reference):
        where = _capital(reference_phrase(model, reference_meta))
        text += (
            f" {where}, in `benchmarks/reference/pruning.csv` (batched speeds on its own machine "
            f"and questions): {pruning_speeds(reference)}."
        )
    return text


def sparse_sentence(timing: pd.DataFrame) -> str:
    """What the right panel shows: dense time against sparsity, and where CSR overtakes it."""
    first, last = timing.iloc[0], timing.iloc[-1]
    faster = timing[timing["sparse_csr_ms"] < timing["dense_ms"]]
    crossing = (
        f"the CSR kernel overtakes it from {faster['sparsity'].iloc[0]:.0%} zeros on"
        if len(faster)
        else "the CSR kernel is slower at every sparsity measured"
    )
    return (
        f"Right panel: the dense product takes {first['dense_ms']:.2f} ms with "
        f"{first['sparsity']:.0%} zeros and {last['dense_ms']:.2f} ms with {last['sparsity']:.0%}; "
        f"{crossing} (CSR {last['sparse_csr_ms']:.2f} ms at {last['sparsity']:.0%}). Left panel: "
        "the F1 of the table above, against the fraction pruned."
    )


def gpu_sentence(rows: pd.DataFrame) -> str:
    """The fastest GPU setting against the CPU row, and its F1 change."""
    gpu = rows.iloc[1:]
    best = gpu.loc[gpu["questions_per_s"].idxmax()]
    return (
        f"Fastest on the GPU: {best['dtype']} at batch {best['batch_size']}, "
        f"{best['questions_per_s']:.0f} questions/s, {best['speedup']:.1f}x the CPU row, F1 "
        f"{best['f1_change']:+.2f} against it, {best['agreement_pct']:.1f}% of answers identical."
    )


SELECTION_COMMAND = (
    "python -m benchmarks.distillation --model runs/quick/model --select-on validation "
    "--temperature 1,2 --alpha 0.5,1 --sizes 2000 --repeats 1 --out runs/distill-select"
)
"""The run that re-checks the distillation defaults on the validation split."""

SELECTION_FILE = "benchmarks/reference/distillation_selection.csv"
"""Where that run's `distillation_sizes.csv` is copied to be committed."""


def settings_noise(settings: pd.DataFrame, reference_pairs: pd.DataFrame | None) -> str:
    """Whether single pairs can separate the settings: their spread against the seed noise.

    The yardstick is how far the gold-only student alone moves between the draws of data and
    seed of the committed `distillation.csv` (`_gold_spread`); the README renders it too
    (`qa_utils.workflow.readme.settings_noise_text`). Empty when a setting has several pairs,
    when there is one setting, or without that file.
    """
    if settings["pairs"].max() > 1 or len(settings) < 2:
        return ""
    if reference_pairs is None or len(reference_pairs) < 2:
        return ""
    spread = round(settings["f1"].max(), 1) - round(settings["f1"].min(), 1)
    draws = _gold_spread(reference_pairs)[2]
    compared = (
        f"the {len(settings)} settings lie within {spread:.1f} F1 of each other, against the "
        f"{draws:.1f} points the gold-only student alone moves between {len(reference_pairs)} "
        "draws of data and seed (`distillation.csv`: an earlier teacher"
        f"{_pair_size(reference_pairs)})"
    )
    if spread < draws:
        return f" With one pair each, {compared}: that check does not separate them."
    return f" With one pair each, {compared}: the gap is larger than that noise."


def distillation_defaults_sentence(
    temperature: float,
    alpha: float,
    selection: pd.DataFrame | None,
    reference_pairs: pd.DataFrame | None = None,
) -> str:
    """What the default T and alpha mean, and whether the validation split has re-checked them.

    Args:
        selection: the committed `distillation_selection.csv` (the `distillation_sizes.csv` of
            `SELECTION_COMMAND`, copied), or None when there is none.
        reference_pairs: the committed `distillation.csv`, whose gold-only spread says whether
            one pair per setting can separate the settings (`settings_noise`).
    """
    defaults = f"T = {temperature:g}, alpha = {alpha:g}"
    if alpha == 1:
        mix = (
            f"With the defaults ({defaults}) the student learns from the teacher's "
            "distributions alone; alpha < 1 mixes in the gold labels."
        )
    else:
        mix = (
            f"With the defaults ({defaults}) the teacher's term has weight {alpha:g} and the "
            f"gold labels' {1 - alpha:g}."
        )
    if selection is None:
        return mix + (
            " The command above re-checks them on the validation split; until the "
            "`distillation_sizes.csv` it writes to its `--out` folder is copied to "
            f"`{SELECTION_FILE}` and committed, the defaults are the ones chosen on dev."
        )
    settings = selection.groupby(["temperature", "alpha"], as_index=False).agg(
        f1=("distilled_f1", "mean"), pairs=("distilled_f1", "size")
    )
    best = settings.loc[settings["f1"].idxmax()]
    scored = ", ".join(sorted({str(v) for v in selection["scored_on"]}))
    noise = settings_noise(settings, reference_pairs)
    at_defaults = (best["temperature"], best["alpha"]) == (temperature, alpha)
    verdict = (
        "the defaults"
        if at_defaults
        else "not the defaults"
        if noise.endswith("does not separate them.")
        else "not the defaults: they would need changing"
    )
    one = settings["pairs"].max() == 1
    what = "distilled F1 (one pair each)" if one else "mean distilled F1"
    return (
        mix
        + (
            f" The command's output, copied to `{SELECTION_FILE}`, holds {len(settings)} settings "
            f"scored on {int(selection['scored_questions'].iloc[0]):,} {scored} questions: the "
            f"best {what}, {best['f1']:.1f}, is at T = {best['temperature']:g}, alpha = "
            f"{best['alpha']:g}, {verdict}."
        )
        + noise
        + (
            " So this check neither shows the defaults best nor gives ground to change them."
            if noise.endswith("does not separate them.")
            else ""
        )
        + selection_rate_text(selection)
    )


def selection_rate_text(selection: pd.DataFrame) -> str:
    """The learning rate the check's teacher and students trained at, against the profile's now.

    >>> selection_rate_text(pd.DataFrame({"learning_rate": [1e-4]}))[:55]
    ' The check ran at learning rate 1e-4 (teacher and stude'
    """
    from qa_utils.project.config import get_profile, rate_text

    if "learning_rate" not in selection:
        return ""
    rate, now = float(selection["learning_rate"].iloc[0]), get_profile("quick").learning_rate
    text = f" The check ran at learning rate {rate_text(rate)} (teacher and students trained at it)"
    if rate == now:
        return text + "."
    return (
        f"{text}, the quick profile's rate at the time; it was not repeated at the profile's "
        f"current {rate_text(now)}."
    )


def _pair_size(reference_pairs: pd.DataFrame) -> str:
    """', N training questions per pair' when the pairs record it."""
    if "questions" not in reference_pairs:
        return ""
    return f", {int(reference_pairs['questions'].iloc[0]):,} training questions per pair"


def _gold_spread(reference_pairs: pd.DataFrame) -> tuple[float, float, float]:
    """Lowest and highest gold-only F1 of the reference's pairs at one decimal, and their gap."""
    gold = reference_pairs["gold_only_f1"].round(1)
    return gold.min(), gold.max(), round(gold.max() - gold.min(), 1)


def seed_spread_sentence(
    reference_pairs: pd.DataFrame | None,
    repeats: int,
    reference_meta: dict[str, Any] | None = None,
    model: str | Path | None = None,
) -> str:
    """How far the gold-only student moves between the reference's draws, and what we train.

    `reference_meta` (the committed `optimize_meta.json`, whose model is the pairs' teacher) and
    `model` (this run's) say when the pairs come from another model (`reference_phrase`).
    """
    if reference_pairs is None or len(reference_pairs) < 2:
        spread = "One pair of students is one sample."
    else:
        low, high, gap = _gold_spread(reference_pairs)
        spread = (
            f"One pair of students is one sample: in {reference_phrase(model, reference_meta)} "
            f"the gold-only student alone scores between F1 {low:.1f} and {high:.1f} "
            f"({gap:.1f} points apart) over {len(reference_pairs)} draws of data and seed."
        )
    ours = "one pair" if repeats == 1 else f"{repeats} pairs"
    return spread + (
        " So `distill.repeated_comparison` can train several pairs, each on its own draw of "
        "training questions and its own seed. `benchmarks/optimize.py` does (its committed pairs "
        f"are shown below); this notebook trains {ours} (`DISTILL_REPEATS`), so read its gain "
        "against the spread of the reference's."
    )


def _against_reference(gain: float, reference_pairs: pd.DataFrame, reference: str) -> str:
    """Where a gain falls against the reference's gains: below, within or above their range.

    `reference` names the reference in words (`reference_phrase`).
    """
    gains = reference_pairs["gain"].round(2)
    low, high = gains.min(), gains.max()
    span = f"{low:+.2f}" if len(gains) == 1 else f"{low:+.2f} to {high:+.2f}"
    pairs = "pair" if len(gains) == 1 else f"{len(gains)} pairs"
    where = (
        f"below every one of the {pairs}"
        if gain < low
        else f"above every one of the {pairs}"
        if gain > high
        else f"within the range of the {pairs}"
    )
    return f"{where} ({span}) of {reference}"


def gain_sentence(
    gain: dict[str, float],
    temperature: float,
    alpha: float,
    reference_pairs: pd.DataFrame | None = None,
    reference_meta: dict[str, Any] | None = None,
    model: str | Path | None = None,
) -> str:
    """The teacher's F1 gain (`distill.gain_summary`) against the reference's pairs and spread.

    Args:
        reference_pairs: the committed `distillation.csv` of `benchmarks/optimize.py`, or None.
        reference_meta: that run's `optimize_meta.json` (its teacher), or None.
        model: this run's teacher, to say when the reference's is another (`reference_phrase`).
    """
    setting = f"T = {temperature:g}, alpha = {alpha:g}"
    mean = round(gain["mean"], 2)
    if gain["repeats"] == 1:
        text = f"{setting}: in this run's one pair the teacher added {mean:+.2f} F1"
    else:
        text = (
            f"{setting}: over {gain['repeats']:.0f} pairs the teacher added {mean:+.2f} F1 on "
            f"average (smallest {gain['min']:+.2f}, largest {gain['max']:+.2f})"
        )
    if reference_pairs is None or not len(reference_pairs):
        return text + "."
    text += (
        f", {_against_reference(mean, reference_pairs, reference_phrase(model, reference_meta))}"
    )
    if len(reference_pairs) < 2:
        return text + "."
    gap = _gold_spread(reference_pairs)[2]
    size = (
        "smaller than" if abs(mean) < gap else "as large as" if abs(mean) == gap else "larger than"
    )
    text += (
        f", and {size} the {gap:.1f} F1 by which the gold-only student alone moves between the "
        "reference's draws."
    )
    if gain["repeats"] > 1:
        return text
    return text + (
        " One pair shows the sign of one draw's difference, not the teacher's effect: "
        + (
            "a gain within that spread could come from the draw and the seed alone, and one pair "
            "cannot tell a smaller effect on this model from an unlucky draw."
            if abs(mean) <= gap
            else "a gain beyond that spread is unlikely to be the draw alone, but how large the "
            "effect is on average needs more pairs."
        )
    )


def distillation_summary(
    gain: dict[str, float],
    reference_pairs: pd.DataFrame | None,
    reference_meta: dict[str, Any] | None,
    model: str | Path,
) -> str:
    """The Summary's distillation bullet: what the reference's pairs and this run's show.

    Args:
        gain: this run's `distill.gain_summary`.
        reference_pairs: the committed `distillation.csv`, or None.
        reference_meta: the committed `optimize_meta.json` (its teacher), or None.
        model: this run's teacher.
    """
    ours = round(gain["mean"], 2)
    pairs = "one pair" if gain["repeats"] == 1 else f"{gain['repeats']:.0f} pairs (mean)"
    if reference_pairs is None or len(reference_pairs) < 2:
        return (
            f"- Distillation: this run's {pairs} gained {ours:+.2f} F1 over the gold labels "
            "alone; without a committed reference of repeated pairs, that is all there is to go on."
        )
    gains = reference_pairs["gain"].round(2)
    ahead = int((gains > 0).sum())
    ref_model = (reference_meta or {}).get("model")
    which = "this" if _same_model(model, ref_model) else "a different"
    teacher = (
        f"its teacher `{shown_path(ref_model)}`, {which} model"
        if ref_model
        else "a teacher its metadata does not name"
    )
    count = f"all {ahead}" if ahead == len(gains) else f"{ahead} of {len(gains)}"
    lead = (
        f"- In the committed reference ({teacher}) the distilled student beat the gold-only one "
        f"in {count} pairs, by "
        f"{gains.min():+.2f} to {gains.max():+.2f} F1"
    )
    lead += (
        ": distillation transfers more than the gold labels, as the student learns which *other* "
        "spans the teacher found plausible."
        if ahead == len(gains)
        else "."
    )
    gap = _gold_spread(reference_pairs)[2]
    if ours <= 0:
        here = f"This run's {pairs} gained {ours:+.2f}: it does not support that for this model."
    elif ours > gap:
        here = (
            f"This run's {pairs} gained {ours:+.2f}, beyond the {gap:.1f} F1 the gold-only "
            "student moves between draws: it supports that for this model too, not its size."
        )
    else:
        here = (
            f"This run's {pairs} gained {ours:+.2f}: the same sign, but within the {gap:.1f} F1 "
            "the gold-only student moves between draws, so it neither confirms nor measures the "
            "gain on this model."
        )
    return f"{lead} {here} `benchmarks/optimize.py` reruns all of this on more questions."


PAIR_COLUMNS = {
    "questions": "training questions",
    "windows": "training windows",
    "distilled_f1": "distilled F1",
    "distilled_s": "distilled train s",
    "gold_only_f1": "gold-only F1",
    "gold_only_s": "gold-only train s",
    "gain": "gain (F1)",
}
"""Display names of `distill.repeated_comparison`'s columns (training time in seconds)."""


def pairs_table(shown: pd.DataFrame) -> pd.DataFrame:
    """A table of student pairs (already rounded by `bench.readable`) with readable headers.

    >>> list(pairs_table(pd.DataFrame({"windows": [1006], "distilled_s": [93.0]})).columns)
    ['training windows', 'distilled train s']
    """
    return shown.rename(columns=PAIR_COLUMNS)
