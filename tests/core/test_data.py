"""Tests for qa_utils.core.data: the fixture, bad-input messages, formats, strict=False, sources."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qa_utils.core.data import (
    FEATURES,
    FEATURES_V2,
    HUB_ID,
    MAX_CONTEXT_CHARS,
    MAX_QUESTION_CHARS,
    SquadDataWarning,
    SquadFormatError,
    SquadSourceError,
    in_validation,
    load_squad,
    load_squad_with_problems,
    resolve_squad_source,
    split_validation,
    subset,
)
from qa_utils.project.paths import shared_dir

MINI = Path(__file__).parents[1] / "fixtures" / "mini_squad.json"
MINI_V2 = MINI.with_name("mini_squad_v2.json")


@pytest.fixture(scope="module")
def mini():
    return load_squad(MINI)


@pytest.fixture
def nested() -> dict:
    """A fresh copy of the fixture in the nested format, for a test to break."""
    return json.loads(MINI.read_text(encoding="utf-8"))


# ASCII escapes, so that a test can write text that is not Unicode (a lone surrogate), as JSON can.
def _write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj, indent=1), encoding="utf-8")
    return path


def _write_jsonl(path: Path, records: list) -> Path:
    lines = (r if isinstance(r, str) else json.dumps(r) for r in records)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the fixture --------------------------------------------------------------------------------


def test_fixture_loads_with_the_hub_schema(mini):
    assert mini.features == FEATURES
    assert len(mini) == 25 and len(set(mini["id"])) == 25
    assert len(set(mini["title"])) == 3 and len(set(mini["context"])) == 8
    assert all(len(answers["text"]) >= 2 for answers in mini["answers"])


def test_fixture_covers_the_hard_cases(mini):
    """Long contexts with late answers, repeated answer texts, unicode, punctuation."""
    long_contexts = {c for c in mini["context"] if len(c) > 2500}
    assert len(long_contexts) == 2
    late = [
        r for r in mini if r["context"] in long_contexts and r["answers"]["answer_start"][0] > 2500
    ]
    assert len(late) >= 2
    repeated = [
        (r["context"], text, start)
        for r in mini
        for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"], strict=True)
        if r["context"].count(text) > 1 and r["context"].find(text) != start
    ]
    assert len(repeated) >= 3
    texts = {text for answers in mini["answers"] for text in answers["text"]}
    assert {
        "🌱",
        "光の喫茶",
        "€4.50 (tax incl.)",
        "“Mon.–Sat.: 7:30–23:00; Sun.: closed!”",
    } <= texts


# --- one test per bad input: the message names file, place and field ------------------------


def _at(d: dict, a: int, p: int | None = None, q: int | None = None) -> dict:
    node = d["data"][a]
    node = node["paragraphs"][p] if p is not None else node
    return node["qas"][q] if q is not None else node


NESTED_CASES = {
    "missing_question": (
        lambda d: _at(d, 0, 1, 2).pop("question"),
        "data[0].paragraphs[1].qas[2].question: missing key 'question'",
    ),
    "missing_context": (
        lambda d: _at(d, 2, 0).pop("context"),
        "data[2].paragraphs[0].context: missing key 'context'",
    ),
    "missing_title": (lambda d: _at(d, 1).pop("title"), "data[1].title: missing key 'title'"),
    "missing_answer_start": (
        lambda d: _at(d, 0, 0, 0)["answers"][1].pop("answer_start"),
        "data[0].paragraphs[0].qas[0].answers[1].answer_start: missing key 'answer_start'",
    ),
    "answer_start_string": (
        lambda d: _at(d, 1, 0, 2)["answers"][0].update(answer_start="295"),
        "data[1].paragraphs[0].qas[2].answers[0].answer_start: expected an integer, got str",
    ),
    "answer_start_float": (
        lambda d: _at(d, 0, 0, 0)["answers"][0].update(answer_start=147.0),
        "data[0].paragraphs[0].qas[0].answers[0].answer_start: expected an integer, got float",
    ),
    "id_not_string": (
        lambda d: _at(d, 0, 0, 3).update(id=17),
        "data[0].paragraphs[0].qas[3].id: expected a string, got int",
    ),
    "null_question": (
        lambda d: _at(d, 2, 1, 0).update(question=None),
        "data[2].paragraphs[1].qas[0].question: expected a string, got null",
    ),
    "answers_not_list": (
        lambda d: _at(d, 2, 2, 1).update(answers={"text": "2 ms", "answer_start": 217}),
        "data[2].paragraphs[2].qas[1].answers: expected a list, got dict",
    ),
    "paragraph_not_object": (
        lambda d: d["data"][1]["paragraphs"].__setitem__(1, "Opening hours ..."),
        "data[1].paragraphs[1]: expected an object, got str",
    ),
    "data_not_list": (lambda d: d.update(data={}), "data: expected a list of articles, got dict"),
    "empty_context": (
        lambda d: _at(d, 0, 2).update(context=""),
        "data[0].paragraphs[2].context: is empty",
    ),
    "blank_question": (
        lambda d: _at(d, 1, 1, 0).update(question="  \n"),
        "data[1].paragraphs[1].qas[0].question: is empty",
    ),
    "empty_answers": (
        lambda d: _at(d, 2, 0, 1).update(answers=[]),
        "data[2].paragraphs[0].qas[1].answers: is empty",
    ),
    "empty_answer_text": (
        lambda d: _at(d, 0, 1, 0)["answers"][2].update(text=""),
        "data[0].paragraphs[1].qas[0].answers[2].text: is empty",
    ),
    "duplicate_id": (
        lambda d: _at(d, 2, 1, 0).update(id="mini-1-1-1"),
        "data[2].paragraphs[1].qas[0].id: duplicate id 'mini-1-1-1' "
        "(first at data[0].paragraphs[0].qas[0].id)",
    ),
    "answer_start_negative": (
        lambda d: _at(d, 1, 1, 1)["answers"][0].update(answer_start=-1),
        "data[1].paragraphs[1].qas[1].answers[0].answer_start: -1 is outside the context",
    ),
    "answer_start_past_end": (
        lambda d: _at(d, 0, 0, 1)["answers"][0].update(answer_start=620),
        "data[0].paragraphs[0].qas[1].answers[0].answer_start: 620 is outside the context "
        "(length 627)",
    ),
    "answer_start_off_the_text": (
        lambda d: _at(d, 0, 0, 2)["answers"][0].update(answer_start=570),
        "data[0].paragraphs[0].qas[2].answers[0].answer_start: 570 does not point at the "
        "answer text 'lifeboat' (found 'ifeboat,')",
    ),
    # text that JSON can carry but Unicode cannot (a "\ud800" escape)
    "surrogate_in_question": (
        lambda d: _at(d, 0, 1, 2).update(question="Who \ud800 built it?"),
        "data[0].paragraphs[1].qas[2].question: holds a lone surrogate (U+D800) at character 4",
    ),
    "surrogate_in_context": (
        lambda d: _at(d, 1, 0).update(context=_at(d, 1, 0)["context"] + " \udc80"),
        "data[1].paragraphs[0].context: holds a lone surrogate (U+DC80)",
    ),
    "surrogate_in_title": (
        lambda d: _at(d, 2).update(title="Velmora \udbff"),
        "data[2].title: holds a lone surrogate (U+DBFF) at character 8",
    ),
    "surrogate_in_id": (
        lambda d: _at(d, 2, 1, 0).update(id="q\ud83d"),
        "data[2].paragraphs[1].qas[0].id: holds a lone surrogate (U+D83D) at character 1",
    ),
    "surrogate_in_answer": (
        lambda d: _at(d, 0, 1, 0)["answers"][1].update(text="\udfff"),
        "data[0].paragraphs[1].qas[0].answers[1].text: holds a lone surrogate",
    ),
    # sizes that would exhaust memory in the tokenizer later
    "context_too_long": (
        lambda d: _at(d, 0, 2).update(context="x" * (MAX_CONTEXT_CHARS + 1)),
        f"data[0].paragraphs[2].context: has {MAX_CONTEXT_CHARS + 1:,} characters; "
        f"the limit is {MAX_CONTEXT_CHARS:,}",
    ),
    "question_too_long": (
        lambda d: _at(d, 1, 1, 1).update(question="why " * (MAX_QUESTION_CHARS // 4 + 1)),
        f"data[1].paragraphs[1].qas[1].question: has {MAX_QUESTION_CHARS + 4:,} characters",
    ),
    # nothing to evaluate
    "no_articles": (lambda d: d.update(data=[]), "data: holds no questions (no articles)"),
    "no_paragraphs": (
        lambda d: [a.update(paragraphs=[]) for a in d["data"]],
        "data: holds no questions (3 articles without paragraphs)",
    ),
    "every_qas_empty": (
        lambda d: [p.update(qas=[]) for a in d["data"] for p in a["paragraphs"]],
        "data: holds no questions (8 paragraphs, all with empty qas)",
    ),
}


@pytest.mark.parametrize("case", NESTED_CASES)
def test_bad_nested_file_names_file_place_and_field(case, nested, tmp_path):
    mutate, expected = NESTED_CASES[case]
    mutate(nested)
    path = _write_json(tmp_path / f"{case}.json", nested)
    with pytest.raises(SquadFormatError) as caught:
        load_squad(path)
    assert str(caught.value).startswith(f"{path}: {expected}")


def test_answer_start_error_says_where_the_text_is(nested, tmp_path):
    _at(nested, 0, 0, 2)["answers"][0]["answer_start"] = 570
    with pytest.raises(SquadFormatError, match=r"the text occurs at offset \d+"):
        load_squad(_write_json(tmp_path / "off.json", nested))


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"version": "1.1",\n "data": [\n  {"title": "x",, "paragraphs": []}]}')
    with pytest.raises(SquadFormatError, match=r"broken\.json: line 3, column 17: invalid JSON"):
        load_squad(path)


def test_json_lines_given_as_json_gets_a_hint(mini, tmp_path):
    path = _write_jsonl(tmp_path / "flat.json", mini.select(range(2)).to_list())
    with pytest.raises(SquadFormatError, match=r"line 2, column 1: .*name it \.jsonl"):
        load_squad(path)


def test_non_utf8_bytes_name_the_byte_offset(tmp_path):
    raw = MINI.read_bytes()
    offset = raw.index("Lefèvre".encode()) + 3
    path = tmp_path / "latin1.json"
    path.write_bytes(raw[:offset] + b"\xe8" + raw[offset + 2 :])  # è in Latin-1, not UTF-8
    with pytest.raises(SquadFormatError, match=rf"latin1\.json: byte {offset}: not valid UTF-8"):
        load_squad(path)


def test_top_level_list_or_missing_data_is_rejected(tmp_path):
    path = _write_json(tmp_path / "list.json", [1, 2])
    with pytest.raises(SquadFormatError, match=r"list\.json: data: expected a list of articles"):
        load_squad(path)
    path = _write_json(tmp_path / "nodata.json", {"version": "1.1", "articles": []})
    with pytest.raises(SquadFormatError, match=r"nodata\.json: data: missing key 'data'"):
        load_squad(path)


def _flat(mini, n: int = 8) -> list[dict]:
    return copy.deepcopy(mini.select(range(n)).to_list())


FLAT_CASES = {
    "bad_json_line": (lambda rs: rs.__setitem__(2, '{"id": '), "line 3, column 8: invalid JSON"),
    "not_an_object": (lambda rs: rs.__setitem__(6, "[]"), "line 7: expected an object, got list"),
    "missing_question": (lambda rs: rs[1].pop("question"), "line 2: question: missing key"),
    "answers_not_object": (
        lambda rs: rs[3].update(answers=["x"]),
        "line 4: answers: expected an object, got list",
    ),
    "length_mismatch": (
        lambda rs: rs[3]["answers"]["answer_start"].pop(),
        "line 4: answers: 2 texts but 1 answer_start values",
    ),
    "answer_start_string": (
        lambda rs: rs[0]["answers"]["answer_start"].__setitem__(0, "147"),
        "line 1: answers.answer_start[0]: expected an integer, got str",
    ),
    "answer_start_off_the_text": (
        lambda rs: rs[4]["answers"]["answer_start"].__setitem__(1, 0),
        "line 5: answers.answer_start[1]: 0 does not point at the answer text",
    ),
    "duplicate_id": (
        lambda rs: rs[5].update(id=rs[0]["id"]),
        "line 6: id: duplicate id 'mini-1-1-1' (first at line 1: id)",
    ),
    "empty_question": (lambda rs: rs[7].update(question=""), "line 8: question: is empty"),
    "surrogate_in_context": (
        lambda rs: rs[2].update(context="\ud800" + rs[2]["context"]),
        "line 3: context: holds a lone surrogate (U+D800) at character 0",
    ),
    "surrogate_in_title": (
        lambda rs: rs[1].update(title="\udc00"),
        "line 2: title: holds a lone surrogate (U+DC00) at character 0",
    ),
    "context_too_long": (
        lambda rs: rs[6].update(context=rs[6]["context"] * (MAX_CONTEXT_CHARS // 500)),
        "line 7: context: has ",
    ),
    "no_records": (lambda rs: rs.clear(), "file: holds no questions (no records)"),
}


@pytest.mark.parametrize("case", FLAT_CASES)
def test_bad_jsonl_file_names_file_line_and_field(case, mini, tmp_path):
    mutate, expected = FLAT_CASES[case]
    records = _flat(mini)
    mutate(records)
    path = _write_jsonl(tmp_path / f"{case}.jsonl", records)
    with pytest.raises(SquadFormatError) as caught:
        load_squad(path)
    assert str(caught.value).startswith(f"{path}: {expected}")


def test_bad_parquet_row_names_file_row_and_field(mini, tmp_path):
    records = _flat(mini)
    records[3]["context"] = " "
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    with pytest.raises(SquadFormatError, match=r"bad\.parquet: row 3: context: is empty"):
        load_squad(path)


def test_unreadable_parquet(tmp_path):
    path = tmp_path / "fake.parquet"
    path.write_text("not parquet")
    with pytest.raises(SquadFormatError, match=r"fake\.parquet: file: not a readable Parquet"):
        load_squad(path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json: no such file"):
        load_squad(tmp_path / "nowhere.json")
    (tmp_path / "squad.csv").write_text("id,question\n")
    with pytest.raises(ValueError, match=r"squad\.csv: unsupported file type '\.csv'"):
        load_squad(tmp_path / "squad.csv")


# --- the same Dataset from every format -----------------------------------------------------


def test_same_dataset_from_nested_jsonl_and_parquet(mini, tmp_path):
    ours_jsonl = _write_jsonl(tmp_path / "ours.jsonl", mini.to_list())
    hf_jsonl = tmp_path / "hf.jsonl"
    mini.to_json(hf_jsonl)  # the Hub tools' own export
    parquet = tmp_path / "mini.parquet"
    mini.to_parquet(parquet)
    int64_parquet = tmp_path / "int64.parquet"
    pq.write_table(pa.Table.from_pylist(mini.to_list()), int64_parquet)  # inferred int64 offsets
    for path in (ours_jsonl, hf_jsonl, parquet, int64_parquet):
        loaded = load_squad(path)
        assert loaded.features == FEATURES, path
        assert loaded.to_dict() == mini.to_dict(), path


def test_questions_are_kept_as_written(nested, tmp_path):
    _at(nested, 1, 0, 0)["question"] = "  Who founded Café Lumière?\t "
    loaded = load_squad(_write_json(tmp_path / "spaces.json", nested))
    assert (
        loaded[list(loaded["id"]).index("mini-2-1-1")]["question"]
        == "  Who founded Café Lumière?\t "
    )


def test_limit_keeps_the_first_questions(mini, tmp_path):
    assert list(load_squad(MINI, limit=5)["id"]) == list(mini["id"])[:5]
    jsonl = _write_jsonl(tmp_path / "mini.jsonl", mini.to_list())
    assert list(load_squad(jsonl, limit=7)["id"]) == list(mini["id"])[:7]
    with pytest.raises(ValueError, match="limit must be a positive number"):
        load_squad(MINI, limit=0)


# --- strict=False -------------------------------------------------------------------------------


def _break_four_ways(d: dict) -> None:
    _at(d, 0, 0, 1)["question"] = ""  # drops mini-1-1-2
    _at(d, 0, 2)["context"] = " "  # drops both questions of that paragraph
    _at(d, 1, 1, 0)["answers"][1]["answer_start"] = 3  # drops mini-2-2-1
    _at(d, 2, 0, 0)["id"] = "mini-1-1-1"  # a duplicate: the first one is kept


def test_strict_false_with_every_record_dropped_is_still_an_error(nested, tmp_path):
    for article in nested["data"]:
        article["title"] = 5
    path = _write_json(tmp_path / "untitled.json", nested)
    with pytest.raises(
        SquadFormatError,
        match=r"data: no usable questions: every one was dropped "
        r"\(3 problems; first: .*data\[0\]\.title: expected a string, got int\)",
    ):
        load_squad(path, strict=False)  # fmt: skip


def test_strict_false_drops_bad_records_and_lists_every_problem(nested, tmp_path):
    _break_four_ways(nested)
    loaded = load_squad_with_problems(_write_json(tmp_path / "four.json", nested), strict=False)
    wheres = [problem.where for problem in loaded.problems]
    assert wheres == [
        "data[0].paragraphs[0].qas[1].question",
        "data[0].paragraphs[2].context",
        "data[1].paragraphs[1].qas[0].answers[1].answer_start",
        "data[2].paragraphs[0].qas[0].id",
    ]
    assert all(problem.file == str(tmp_path / "four.json") for problem in loaded.problems)
    dropped = {"mini-1-1-2", "mini-1-3-1", "mini-1-3-2", "mini-2-2-1", "mini-3-1-1"}
    assert len(loaded.dataset) == 25 - 5
    assert not dropped & set(loaded.dataset["id"])
    assert list(loaded.dataset["id"]).count("mini-1-1-1") == 1  # the first one, kept
    assert loaded.dataset[0]["title"] == "Velmora_Harbour"


def test_strict_false_warns_with_the_count(nested, tmp_path):
    _break_four_ways(nested)
    path = _write_json(tmp_path / "four.json", nested)
    with pytest.warns(
        SquadDataWarning, match=r"four\.json: 4 problems; their records were dropped"
    ):
        assert len(load_squad(path, strict=False)) == 20
    with pytest.raises(SquadFormatError) as caught:
        load_squad(path)
    assert caught.value.problems[0].where == "data[0].paragraphs[0].qas[1].question"


def test_strict_false_skips_bad_json_lines_but_not_a_broken_file(mini, tmp_path):
    records = _flat(mini)
    records[2] = '{"id": '
    loaded = load_squad_with_problems(_write_jsonl(tmp_path / "x.jsonl", records), strict=False)
    assert len(loaded.dataset) == 7 and loaded.problems[0].where == "line 3, column 8"
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(SquadFormatError, match="invalid JSON"):
        load_squad(broken, strict=False)


# --- sources ----------------------------------------------------------------------------------


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("QA_SQUAD_TRAIN", raising=False)
    monkeypatch.delenv("QA_SQUAD_DEV", raising=False)
    return monkeypatch


def test_resolve_prefers_env_then_data_folder_then_shared_then_hub(no_env, tmp_path):
    root = tmp_path / "repo"
    (root / "data" / "squad").mkdir(parents=True)
    assert resolve_squad_source("validation", root=root) == HUB_ID
    shared = tmp_path / "shared" / "squad"
    shared.mkdir(parents=True)
    for name in ("dev-v1.1.json", "train-v1.1-rebuilt.json"):
        (shared / name).write_text("{}")
    assert resolve_squad_source("validation", root=root) == shared / "dev-v1.1.json"
    assert resolve_squad_source("train", root=root) == shared / "train-v1.1-rebuilt.json"
    local = root / "data" / "squad" / "train.parquet"
    local.write_text("")
    assert resolve_squad_source("train", root=root) == local
    no_env.setenv("QA_SQUAD_TRAIN", str(MINI))
    assert resolve_squad_source("train", root=root) == MINI


def test_resolve_rejects_a_missing_env_file_and_unknown_split(no_env, tmp_path):
    no_env.setenv("QA_SQUAD_DEV", str(tmp_path / "gone.json"))
    with pytest.raises(FileNotFoundError, match=r"QA_SQUAD_DEV=.*gone\.json: no such file"):
        resolve_squad_source("validation")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        resolve_squad_source("dev")


def test_hub_offline_says_which_variable_to_set_in_one_error():
    with pytest.raises(SquadSourceError, match=r"(?s)offline.*Set QA_SQUAD_TRAIN to a local SQuAD"):
        load_squad(HUB_ID, split="train")
    with pytest.raises(OSError) as caught:  # the command line's "expected error" family
        load_squad(HUB_ID)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no 2nd trace


def test_official_dev_set_loads_cleanly():
    path = resolve_squad_source("validation")
    if not isinstance(path, Path) or path.name != "dev-v1.1.json":
        pytest.skip("the official dev-v1.1.json is not available (set QA_SQUAD_DEV)")
    loaded = load_squad_with_problems(path, strict=False)
    assert len(loaded.dataset) == 10_570 and loaded.problems == []
    answers = loaded.dataset.select_columns(["answers"]).to_dict()["answers"]
    assert sum(len(a["text"]) for a in answers) == 34_726


# --- SQuAD 2.0 -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mini_v2():
    return load_squad(MINI_V2)


@pytest.fixture
def nested_v2() -> dict:
    """A fresh copy of the SQuAD 2.0 fixture in the nested format, for a test to break."""
    return json.loads(MINI_V2.read_text(encoding="utf-8"))


def test_v2_fixture_loads_with_is_impossible(mini_v2):
    loaded = load_squad_with_problems(MINI_V2)
    assert loaded.version == "v2.0" and loaded.problems == []
    assert mini_v2.features == FEATURES_V2 and list(mini_v2.features)[-1] == "is_impossible"
    impossible = [r for r in mini_v2 if r["is_impossible"]]
    assert len(mini_v2) == 15 and len(impossible) == 5
    assert all(r["answers"] == {"text": [], "answer_start": []} for r in impossible)
    assert all(r["answers"]["text"] for r in mini_v2 if not r["is_impossible"])


def test_v1_files_keep_the_v1_schema(mini):
    assert load_squad_with_problems(MINI).version == "v1.1"
    assert "is_impossible" not in mini.column_names


def test_plausible_answers_are_ignored(nested_v2, tmp_path):
    for article in nested_v2["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                qa.pop("plausible_answers", None)
    plain = load_squad(_write_json(tmp_path / "plain.json", nested_v2))
    assert plain.to_dict() == load_squad(MINI_V2).to_dict()


def test_same_v2_dataset_from_nested_jsonl_and_parquet(mini_v2, tmp_path):
    jsonl = tmp_path / "v2.jsonl"
    mini_v2.to_json(jsonl)
    parquet = tmp_path / "v2.parquet"
    mini_v2.to_parquet(parquet)
    for path in (jsonl, parquet):
        loaded = load_squad(path)
        assert loaded.features == FEATURES_V2, path
        assert loaded.to_dict() == mini_v2.to_dict(), path


def test_flat_v2_without_the_flag_needs_the_version(mini_v2, tmp_path):
    """The Hub's squad_v2 schema has no is_impossible column: empty answers mark the question."""
    path = _write_jsonl(
        tmp_path / "hub_v2.jsonl", mini_v2.remove_columns("is_impossible").to_list()
    )
    with pytest.raises(SquadFormatError, match=r"line 4: answers: is empty; .*is_impossible"):
        load_squad(path)
    assert load_squad(path, version="v2.0").to_dict() == mini_v2.to_dict()


def test_version_can_be_forced(mini):
    forced = load_squad(MINI, version="v2.0")
    assert forced.features == FEATURES_V2 and not any(forced["is_impossible"])
    with pytest.raises(ValueError, match=r"unknown SQuAD version 'v3'"):
        load_squad(MINI, version="v3")
    with pytest.raises(ValueError, match=r"rajpurkar/squad is SQuAD v1\.1"):
        load_squad(HUB_ID, version="v2.0")


def _v2_at(d: dict, a: int, p: int, q: int) -> dict:
    return d["data"][a]["paragraphs"][p]["qas"][q]


V2_CASES = {
    "impossible_with_answers": (
        lambda d: _v2_at(d, 0, 0, 0).update(is_impossible=True),
        "data[0].paragraphs[0].qas[0].is_impossible: is true, but the question has 2 answers",
    ),
    "possible_without_answers": (
        lambda d: _v2_at(d, 0, 0, 3).update(is_impossible=False),
        "data[0].paragraphs[0].qas[3].is_impossible: is false, but the question has no answers",
    ),
    "flag_string": (
        lambda d: _v2_at(d, 1, 0, 2).update(is_impossible="true"),
        "data[1].paragraphs[0].qas[2].is_impossible: expected a boolean, got str",
    ),
    "flag_integer": (
        lambda d: _v2_at(d, 0, 1, 2).update(is_impossible=1),
        "data[0].paragraphs[1].qas[2].is_impossible: expected a boolean, got int",
    ),
    "flag_null": (
        lambda d: _v2_at(d, 0, 1, 0).update(is_impossible=None),
        "data[0].paragraphs[1].qas[0].is_impossible: expected a boolean, got null",
    ),
    "answers_null": (
        lambda d: _v2_at(d, 1, 0, 4).update(answers=None),
        "data[1].paragraphs[0].qas[4].answers: expected a list, got null",
    ),
    "answer_start_off_the_text": (
        lambda d: _v2_at(d, 0, 0, 1)["answers"][0].update(answer_start=3),
        "data[0].paragraphs[0].qas[1].answers[0].answer_start: 3 does not point at the answer",
    ),
}


@pytest.mark.parametrize("case", V2_CASES)
def test_bad_v2_file_names_file_place_and_field(case, nested_v2, tmp_path):
    mutate, expected = V2_CASES[case]
    mutate(nested_v2)
    path = _write_json(tmp_path / f"{case}.json", nested_v2)
    with pytest.raises(SquadFormatError) as caught:
        load_squad(path)
    assert str(caught.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(caught.value)


FLAT_V2_CASES = {
    "impossible_with_answers": (
        lambda rs: rs[0].update(is_impossible=True),
        "line 1: is_impossible: is true, but the question has 2 answers",
    ),
    "possible_without_answers": (
        lambda rs: rs[3].update(is_impossible=False),
        "line 4: is_impossible: is false, but the question has no answers",
    ),
    "flag_string": (
        lambda rs: rs[5].update(is_impossible="no"),
        "line 6: is_impossible: expected a boolean, got str",
    ),
}


@pytest.mark.parametrize("case", FLAT_V2_CASES)
def test_bad_v2_jsonl_names_file_line_and_field(case, mini_v2, tmp_path):
    mutate, expected = FLAT_V2_CASES[case]
    records = copy.deepcopy(mini_v2.to_list())
    mutate(records)
    path = _write_jsonl(tmp_path / f"{case}.jsonl", records)
    with pytest.raises(SquadFormatError) as caught:
        load_squad(path)
    assert str(caught.value).startswith(f"{path}: {expected}")


def test_bad_v2_parquet_row_names_the_field(mini_v2, tmp_path):
    records = copy.deepcopy(mini_v2.to_list())
    records[1]["is_impossible"] = True
    path = tmp_path / "bad_v2.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    with pytest.raises(SquadFormatError, match=r"bad_v2\.parquet: row 1: is_impossible: is true"):
        load_squad(path)


PARQUET_V2_CASES = {
    "impossible_with_answers": (
        lambda rs: rs[1].update(is_impossible=True),
        "row 1: is_impossible: is true, but the question has",
    ),
    "possible_without_answers": (
        lambda rs: rs[3].update(is_impossible=False),
        "row 3: is_impossible: is false, but the question has no answers",
    ),
    "flag_string": (
        lambda rs: [r.update(is_impossible=str(r["is_impossible"]).lower()) for r in rs],
        "row 0: is_impossible: expected a boolean, got str",
    ),
}


@pytest.mark.parametrize("case", PARQUET_V2_CASES)
def test_bad_v2_parquet_names_file_row_and_field_in_one_line(case, mini_v2, tmp_path):
    mutate, expected = PARQUET_V2_CASES[case]
    records = copy.deepcopy(mini_v2.to_list())
    mutate(records)
    path = tmp_path / f"{case}.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    with pytest.raises(SquadFormatError) as caught:
        load_squad(path)
    assert str(caught.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(caught.value)


def test_v2_strict_false_drops_only_the_bad_questions(nested_v2, tmp_path):
    _v2_at(nested_v2, 0, 0, 0)["is_impossible"] = True
    _v2_at(nested_v2, 1, 0, 2)["is_impossible"] = "yes"
    loaded = load_squad_with_problems(_write_json(tmp_path / "two.json", nested_v2), strict=False)
    assert [p.where for p in loaded.problems] == [
        "data[0].paragraphs[0].qas[0].is_impossible",
        "data[1].paragraphs[0].qas[2].is_impossible",
    ]
    assert len(loaded.dataset) == 13 and loaded.dataset.features == FEATURES_V2
    assert {"v2-1-1-1", "v2-2-1-3"}.isdisjoint(loaded.dataset["id"])


def test_jsonl_limit_stops_before_a_later_broken_line(mini, tmp_path):
    records = _flat(mini)
    records[6] = '{"id": '
    path = _write_jsonl(tmp_path / "late.jsonl", records)
    assert len(load_squad(path, limit=3)) == 3
    with pytest.raises(SquadFormatError, match="line 7, column 8"):
        load_squad(path)


def test_shared_v2_dev_set_loads_cleanly():
    path = shared_dir() / "squad" / "dev-v2.0-rebuilt.json"
    if not path.is_file():
        pytest.skip("../shared/squad/dev-v2.0-rebuilt.json is not beside the project")
    loaded = load_squad_with_problems(path, strict=False)
    assert loaded.problems == [] and loaded.version == "v2.0"
    assert len(loaded.dataset) == 11_873 and sum(loaded.dataset["is_impossible"]) == 5_945
    assert len(set(loaded.dataset["title"])) == 35


def test_the_training_articles_longest_question_still_loads(tmp_path):
    """SQuAD's training set pads one question with whitespace to 25,651 characters."""
    path = resolve_squad_source("train")
    if not isinstance(path, Path) or not path.name.startswith("train"):
        pytest.skip("no local SQuAD training file (set QA_SQUAD_TRAIN)")
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    longest = max(articles, key=lambda a: max(len(q["question"]) for p in a["paragraphs"]
                                               for q in p["qas"]))  # fmt: skip
    dataset = load_squad(_write_json(tmp_path / "article.json", {"data": [longest]}))
    assert max(len(q) for q in dataset["question"]) == 25_651 <= MAX_QUESTION_CHARS


# --- subset -------------------------------------------------------------------------------------


def test_subset_is_seeded_sized_and_in_order(mini):
    picked = subset(mini, 6, seed=3)
    assert len(picked) == 6 and list(picked["id"]) == list(subset(mini, 6, seed=3)["id"])
    positions = [list(mini["id"]).index(qid) for qid in picked["id"]]
    assert positions == sorted(positions)
    assert subset(mini, 100, seed=0) is mini


@pytest.mark.parametrize("n", [0, -3])
def test_subset_rejects_non_positive_sizes(mini, n):
    with pytest.raises(ValueError, match="subset size must be a positive number"):
        subset(mini, n, seed=0)


# --- validation split ---------------------------------------------------------------------------


def test_validation_split_keeps_whole_articles_on_one_side(mini):
    kept, held = split_validation(mini, share=0.5)
    assert len(kept) + len(held) == len(mini)
    assert not set(kept["title"]) & set(held["title"])
    assert set(held["id"]) == {
        q for q, t in zip(mini["id"], mini["title"], strict=True) if in_validation(t, 0.5)
    }


def test_validation_split_depends_on_the_title_only_not_on_order(mini):
    reversed_mini = mini.select(range(len(mini) - 1, -1, -1))
    assert set(split_validation(reversed_mini, 0.5)[1]["id"]) == set(
        split_validation(mini, 0.5)[1]["id"]
    )


@pytest.mark.parametrize("share, expected", [(0.0, 0), (1.0, None)])
def test_validation_share_bounds(mini, share, expected):
    held = split_validation(mini, share)[1]
    assert len(held) == (len(mini) if expected is None else expected)


def test_validation_split_of_the_training_file_holds_about_the_share_of_articles():
    train = shared_dir() / "squad" / "train-v1.1-rebuilt.json"
    if not train.exists():
        pytest.skip("../shared/squad/train-v1.1-rebuilt.json is not beside the project")
    titles = {t for t in json.loads(train.read_text())["data"] for t in [t["title"]]}
    held = [t for t in titles if in_validation(t)]
    assert 0.02 * len(titles) < len(held) < 0.09 * len(titles)
