"""The README's generated blocks: in sync with the committed files, and edits by hand fail."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from qa_utils import cli
from qa_utils.project.paths import REPO_ROOT
from qa_utils.workflow import publish, readme, runner

README_TEXT = (REPO_ROOT / readme.README).read_text(encoding="utf-8")

MEASURED = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])|(?<![\w.])\d+(?:\.\d+)?x\b|questions/s|q/s")
"""What a measured figure looks like in prose: a decimal number, a speed-up, a rate."""


def results_section(text: str) -> str:
    """The '## Results' section without generated blocks, code and names with versions."""
    section = text[text.index("\n## Results\n") :]
    section = section[: section.index("\n## ", 1)]
    section = readme.BLOCK.sub("", section)
    section = re.sub(r"```.*?```", "", section, flags=re.S)
    section = re.sub(r"`[^`]*`", "", section)
    return re.sub(r"SQuAD (v1\.1|2\.0)", "SQuAD", section)


def test_the_readme_matches_the_committed_files():
    assert readme.stale_blocks(README_TEXT) == []


def test_a_number_edited_by_hand_inside_a_block_is_found():
    body = next(m for m in readme.BLOCK.finditer(README_TEXT) if m["name"] == "optimize")["body"]
    edited = body.replace("71.97", "71.98", 1)
    assert edited != body
    assert readme.stale_blocks(README_TEXT.replace(body, edited)) == ["optimize"]


def test_results_section_quotes_measured_figures_only_inside_generated_blocks():
    assert MEASURED.findall(results_section(README_TEXT)) == []


def test_the_results_check_catches_a_figure_typed_into_prose():
    typed = README_TEXT.replace("\n### Smaller", "\nF1 71.3 at 2.14x.\n### Smaller", 1)
    assert MEASURED.findall(results_section(typed)) == ["71.3", "2.14x"]


# --- the machinery, on a fixture README with a fixture renderer --------------------------------

FIXTURE = """# Title with 1.5 outside any block

<!-- generated:demo -->
old text
<!-- /generated:demo -->

Hand-written 2.5 stays; quoted inline, `<!-- generated:demo -->` is text.
"""


@pytest.fixture
def demo(monkeypatch, tmp_path) -> Path:
    """A README with one block whose renderer reads `value.txt` under `tmp_path`."""
    monkeypatch.setitem(
        readme.RENDERERS, "demo", lambda root: f"value {(root / 'value.txt').read_text()}"
    )
    (tmp_path / "value.txt").write_text("42.0")
    path = tmp_path / "README.md"
    path.write_text(FIXTURE)
    return path


def test_a_stale_block_is_named_and_rewritten_leaving_the_rest_untouched(demo):
    root = demo.parent
    assert readme.stale_blocks(FIXTURE, root) == ["demo"]
    assert readme.update_readme(demo, root) == ["demo"]
    assert demo.read_text() == FIXTURE.replace("old text", "value 42.0")
    assert readme.stale_blocks(demo.read_text(), root) == []
    assert readme.update_readme(demo, root) == []
    assert sorted(p.name for p in root.iterdir()) == ["README.md", "value.txt"]  # no temporary


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- generated:nope -->\nx\n<!-- /generated:nope -->\n", "block 'nope' has no renderer"),
        ("<!-- generated:demo -->\nx\n", "block 'demo' has no closing marker"),
        (FIXTURE + FIXTURE, "block 'demo' appears more than once"),
    ],
)
def test_malformed_blocks_are_one_clear_error(demo, text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        readme.stale_blocks(text, demo.parent)


def test_check_exits_1_naming_the_stale_block_and_readme_fixes_it(demo, monkeypatch, capsys):
    root = demo.parent
    (root / "pyproject.toml").write_text("")
    (root / "qa_utils").mkdir()
    monkeypatch.chdir(root)
    assert cli.main(["publish", "--check"]) == 1
    assert "stale generated block(s): demo" in capsys.readouterr().err
    assert cli.main(["publish", "--readme"]) == 0
    assert cli.main(["publish", "--check"]) == 0
    assert "value 42.0" in demo.read_text()


# --- renderers of the published run --------------------------------------------------------------


def published(root: Path, **notebooks: dict) -> None:
    """A published run summary under `root` with these notebooks' recorded values."""
    header = {"profile": "quick", "run_dir": "quick-x", "total_seconds": 200.0}
    header |= {"notebook_seconds": {"01_core_concepts": 40.2, "02_fine_tuning": 159.8}}
    header["hardware"] = {"cpu": "Test CPU", "cpu_count": 2, "torch_threads": 2, "gpu": None}
    path = root / readme.PUBLISHED_RUN
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"run": header, "notebooks": notebooks}))


RUN = {
    "02_fine_tuning": {
        "model": "embedded",
        "train_questions": 1600,
        "train_windows": 1610,
        "train_minutes": 2.66,
    },
    "03_evaluation_metrics": {
        "questions": 500,
        "exact_match": 12.345,
        "f1": 23.456,
        "eval_seconds": 30.0,
        "questions_per_second": 16.7,
    },
}


def test_run_blocks_render_the_published_summary(tmp_path):
    published(tmp_path, **RUN)
    times = readme.render_run_times(tmp_path)
    assert "took 3.3 min (of which training in 02: 2.7 min): notebook 01 40 s, 02 2.7 min" in times
    assert "2-core Test CPU, 2 torch threads, no GPU" in times
    table = readme.render_quick_results(tmp_path)
    assert "| **12.35** | **23.46** | 2.7 min | 0.5 min (16.7 questions/s) |" in table
    assert "1,600 questions (1,610 windows), 1 epoch" in table


def test_without_a_published_run_the_blocks_say_so(tmp_path):
    for render in (readme.render_run_times, readme.render_quick_results):
        assert render(tmp_path).startswith("*Not yet published")


def test_a_missing_field_names_the_file_and_the_field(tmp_path):
    published(tmp_path, **{"02_fine_tuning": RUN["02_fine_tuning"]})
    with pytest.raises(ValueError, match=r"published_run.json: no field notebooks.03_evaluation"):
        readme.render_quick_results(tmp_path)


def test_benchmark_renderers_name_a_missing_reference_file(tmp_path):
    with pytest.raises(ValueError, match=r"benchmarks/reference/drift.json: not a readable JSON"):
        readme.render_drift(tmp_path)


def test_the_training_pool_constants_are_those_of_split_validation():
    from datasets import Dataset

    from qa_utils.core.data import split_validation
    from qa_utils.project.paths import shared_dir

    path = shared_dir() / "squad" / "train-v1.1-rebuilt.json"
    if not path.is_file():
        pytest.skip(f"{path} is not beside the project")
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    titles = [a["title"] for a in articles for p in a["paragraphs"] for _ in p["qas"]]
    kept, held = split_validation(Dataset.from_dict({"title": titles}))
    assert len(titles) == readme.SQUAD_TRAIN_QUESTIONS
    assert len(articles) == readme.SQUAD_TRAIN_ARTICLES
    assert len(held) == readme.VALIDATION_QUESTIONS
    assert len(set(held["title"])) == readme.VALIDATION_ARTICLES
    assert len(kept) == readme.TRAIN_QUESTIONS_OUTSIDE_VALIDATION


def test_the_squad_v2_dev_constants_are_those_of_the_file():
    from qa_utils.core.data import load_squad
    from qa_utils.project.paths import shared_dir

    path = shared_dir() / "squad" / "dev-v2.0-rebuilt.json"
    if not path.is_file():
        pytest.skip(f"{path} is not beside the project")
    dev = load_squad(path)
    assert len(dev) == readme.SQUAD_V2_DEV_QUESTIONS
    assert sum(dev["is_impossible"]) == readme.SQUAD_V2_DEV_UNANSWERABLE


def test_the_profile_table_follows_the_profiles_and_the_training_pool(tmp_path, monkeypatch):
    import dataclasses

    from qa_utils.project.config import PROFILES

    text = readme.render_profiles(tmp_path)
    assert "| `full` | `bert-base-uncased` (Hub) | all 84,150 | 3 | 2e-5 | 16 | 384 / 128 |" in text
    assert "| `quick` | embedded MiniLM-L6-H384 | 16,000 questions | 1 | 2e-4 | 16 |" in text
    assert "holds out 17 of the 442 articles in practice (3.8%), with 3,449 questions" in text
    quick = dataclasses.replace(PROFILES["quick"], train_questions=8000, learning_rate=5e-5)
    monkeypatch.setitem(PROFILES, "quick", quick)
    assert "| 8,000 questions | 1 | 5e-5 |" in readme.render_profiles(tmp_path)


def test_the_full_estimate_counts_the_questions_outside_the_validation_split(tmp_path):
    training = RUN["02_fine_tuning"] | {"train_questions": 1000, "train_minutes": 100.0}
    published(tmp_path, **{"02_fine_tuning": training})
    text = readme.render_full_estimate(tmp_path)
    assert "all 84,150 training questions outside the validation split" in text
    assert "would take about 421 hours" in text  # 0.1 min x 84,150 x 3 epochs (87,599: 438)


def test_the_drift_block_quotes_the_share_within_the_bound(tmp_path):
    source = tmp_path / readme.REFERENCE / "drift.json"
    source.parent.mkdir(parents=True)
    config = {"reference": 200, "k": 0.25, "h": 20.0}
    data = {"runs": 10, "length": 800, "shift_at": 500, "bound": 80, "config": config}
    data |= {"mean_before": 80.0, "mean_after": 50.0, "drop_in_std": 0.8, "wald_delay": 36.4}
    data |= {"delay_median": 30.0, "delay_p95": 90.0, "delay_max": 120, "within_bound": 0.5}
    data |= {"early": 0.1, "missed": 0.2, "false_alarm": 0.0, "monitored": 600}
    source.write_text(json.dumps(data))
    text = readme.render_drift(tmp_path)
    assert "in **50% of 10 seeded synthetic streams** it flagged a drop" in text
    assert "the slowest 120; 10% alarmed before the shift, 20% later than 80, 20% never;" in text


def test_prose_is_wrapped_and_tables_are_not():
    line = "word " * 30
    table = "| " + " | ".join(["cell"] * 30) + " |"
    wrapped = readme.wrap_prose(f"{line}\n{table}").split("\n")
    assert max(len(x) for x in wrapped[:-1]) <= 100 and wrapped[-1] == table


def test_a_published_run_renders_its_per_notebook_times(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # the kernels inherit it; restored afterwards
    folder, run_dir, root = tmp_path / "notebooks", tmp_path / "run", tmp_path / "project"
    folder.mkdir()
    for name in RUN:
        nbformat.write(nbformat.v4.new_notebook(), folder / f"{name}.ipynb")

    def fake_run(source: Path, run: Path, parameters: dict) -> float:
        runner.record_summary(run, source.stem, RUN[source.stem])
        (run / "notebooks").mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(), run / "notebooks" / source.name)
        return 60.0

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    monkeypatch.setattr(runner, "refresh_explorer", lambda run: None)
    assert runner.run_all("quick", run_dir, [], {}, folder=folder) == 0
    publish.publish(run_dir, root / "notebooks", root / readme.PUBLISHED_RUN)
    times = readme.render_run_times(root)
    assert "took 2.0 min (of which training in 02: 2.7 min): notebook 02 60 s, 03 60 s." in times
    assert "torch threads" in times and "hardware not recorded" not in times
    assert "| **12.35** | **23.46** |" in readme.render_quick_results(root)


def test_robustness_renders_the_committed_run_or_says_there_is_none(tmp_path):
    assert readme.render_robustness(tmp_path).startswith("*No committed run yet")
    folder = tmp_path / readme.REFERENCE
    folder.mkdir(parents=True)
    rows = "condition,f1,f1_low,f1_high,drop,drop_low,drop_high\n"
    rows += "clean,70.0,68.0,72.0,0.0,0.0,0.0\ntypos,60.0,58.0,62.0,10.0,8.5,11.25\n"
    (folder / "robustness.csv").write_text(rows)
    meta = {"questions": 1000, "resamples": 1000, "seconds": 160.4, "model": "runs/quick/model"}
    (folder / "robustness_meta.json").write_text(json.dumps(meta | {"load_average": [3.3, 3.9]}))
    text = readme.render_robustness(tmp_path)
    assert "| typos in the question | 60.00 [58.00, 62.00] | 10.00 [8.50, 11.25] |" in text
    assert "| clean | 70.00 [68.00, 72.00] |  |" in text
    assert "took 160 s on hardware not recorded (load average 3.3" in text


def write_learning_rates(
    root: Path, f1: dict[float, float], chosen: float, stem: str = "learning_rate"
) -> None:
    """A learning_rate.csv (or STEM.csv) with the profile's rate 1e-4 and changes from it."""
    rows = [
        {"learning_rate": rate, "f1": value, "f1_low": value - 1, "f1_high": value + 1,
         "change": value - f1[1e-4], "change_low": value - f1[1e-4] - 0.5,
         "change_high": value - f1[1e-4] + 0.5, "chosen": rate == chosen, "questions": 4000,
         "scored": 2000, "profile_rate": 1e-4}
        for rate, value in f1.items()
    ]  # fmt: skip
    folder = root / readme.REFERENCE
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / f"{stem}.csv", index=False)


@pytest.mark.parametrize(
    ("f1", "chosen", "verdict"),
    [
        ({5e-5: 60.0, 1e-4: 62.0}, 1e-4, "The profile's 1e-4 scored highest."),
        ({1e-4: 62.0, 2e-4: 62.3}, 1e-4, "2e-4 scored +0.3 F1 above 1e-4, within the noise"),
        ({1e-4: 62.0, 2e-4: 64.0}, 2e-4, "2e-4 beat 1e-4 by +2.0 F1 [+1.5, +2.5], a paired 95%"),
    ],
)
def test_the_learning_rate_verdict_follows_the_committed_check(
    tmp_path, monkeypatch, f1, chosen, verdict
):
    quick_rate(monkeypatch, 1e-4)
    write_learning_rates(tmp_path, f1, chosen)
    text = readme.learning_rate_sentence(tmp_path)
    assert "4,000 training questions per rate, 2,000 validation questions" in text
    assert verdict in text
    assert ("would need retraining" in text) == (chosen != 1e-4)
    assert ("The profile keeps 1e-4." in text) == (chosen == 1e-4)
    assert "whether the ranking holds at the profile's budget is not tested" in text


def quick_rate(monkeypatch: pytest.MonkeyPatch, rate: float) -> None:
    """The quick profile with learning rate `rate`."""
    from dataclasses import replace

    from qa_utils.project import config

    monkeypatch.setitem(
        config.PROFILES, "quick", replace(config.PROFILES["quick"], learning_rate=rate)
    )


@pytest.mark.parametrize(
    ("profile", "ending"),
    [
        (1e-4, "The profile says 1e-4, not the rate the check chose: its model would need"),
        (2e-4, "The quick profile now says 2e-4, the rate the check chose (it said 1e-4 when"),
        (5e-5, "The profile says 5e-5, not the rate the check chose"),
    ],
)
def test_the_sentence_says_what_the_profile_did_with_the_check(
    tmp_path, monkeypatch, profile, ending
):
    quick_rate(monkeypatch, profile)
    write_learning_rates(tmp_path, {1e-4: 62.0, 2e-4: 64.0}, 2e-4)
    assert ending in readme.learning_rate_sentence(tmp_path)


@pytest.mark.parametrize("full_chosen", [1e-4, 2e-4])
def test_the_check_at_the_profiles_own_budget_decides(tmp_path, monkeypatch, full_chosen):
    from qa_utils.project.config import get_profile

    quick_rate(monkeypatch, 1e-4)
    write_learning_rates(tmp_path, {1e-4: 62.0, 2e-4: 64.0}, 2e-4)
    full = {1e-4: 70.0, 2e-4: 71.0 if full_chosen == 2e-4 else 69.5}
    stem = f"learning_rate_{get_profile('quick').train_questions}"
    write_learning_rates(tmp_path, full, full_chosen, stem=stem)
    text = readme.learning_rate_sentence(tmp_path)
    budget = get_profile("quick").train_questions
    assert f"At the profile's own budget ({budget:,} questions" in text
    assert "not tested" not in text
    assert ("would need retraining" in text) == (full_chosen != 1e-4)
    assert ("The profile keeps 1e-4." in text) == (full_chosen == 1e-4)


def test_the_distillation_choice_names_the_best_setting_and_the_default(tmp_path):
    from qa_utils.training.distill import ALPHA, TEMPERATURE

    rows = [
        {"temperature": t, "alpha": a, "questions": 2000, "scored_questions": 1000,
         "distilled_f1": 50 + t + a, "gain": t + a}
        for t in (1.0, 2.0) for a in (0.5, 1.0)
    ]  # fmt: skip
    (tmp_path / readme.REFERENCE).mkdir(parents=True)
    pd.DataFrame(rows).to_csv(tmp_path / readme.REFERENCE / "distillation_selection.csv")
    text = readme.distillation_choice_sentence(tmp_path)
    assert "2,000 training questions, 1,000 validation questions, one pair" in text
    assert "the best, T = 2 and alpha = 1," in text
    same = (TEMPERATURE, ALPHA) == (2.0, 1.0)
    assert ("the setting `qa_utils.training.distill` uses" in text) == same


@pytest.mark.parametrize(("gold", "separated"), [((40.0, 42.0), False), ((40.0, 40.5), True)])
def test_single_pairs_are_weighed_against_the_reference_students_noise(tmp_path, gold, separated):
    folder = tmp_path / readme.REFERENCE
    folder.mkdir(parents=True)
    pd.DataFrame({"gold_only_f1": gold}).to_csv(folder / "distillation.csv", index=False)
    settings = pd.DataFrame({"f1": [44.0, 45.0], "pairs": [1, 1]})
    text = readme.settings_noise_text(settings, tmp_path)
    assert "lie within 1.0 F1 of each other" in text
    assert ("does not separate them" in text) == (not separated)
    assert readme.settings_noise_text(settings.assign(pairs=3), tmp_path) == ""


def test_without_the_validation_checks_the_readme_says_they_predate_the_split(tmp_path):
    assert "chosen on dev-set F1" in readme.learning_rate_sentence(tmp_path)
    assert "not run yet" in readme.distillation_choice_sentence(tmp_path)
