"""Named evaluation sets: `squadshifts/amazon` instead of a path to a file beside the project.

Every set is a SQuAD-format file under the shared data folder (`qa_utils.project.paths.
shared_dir`, `../shared` unless $QA_SHARED says otherwise) and loads with
`qa_utils.core.data.load_squad` as it is. The SQuADShifts sets (Miller et al., 2020) are SQuAD
v1.1 files collected with SQuAD's protocol on other text; their Reddit file is one "article"
holding every post, so per-article statistics mean nothing there.

>>> sorted(EVAL_SETS)[:2]
['squad/dev', 'squad/dev-v2']
>>> resolve_eval_set("squadshifts/reddit").name
'reddit_v1.0.json'
"""

from __future__ import annotations

from pathlib import Path

from qa_utils.project.paths import shared_dir

EVAL_SETS: dict[str, str] = {
    "squad/dev": "squad/dev-v1.1.json",
    "squad/dev-v2": "squad/dev-v2.0-rebuilt.json",
    "squadshifts/new_wiki": "squadshifts/new_wiki_v1.0.json",
    "squadshifts/reddit": "squadshifts/reddit_v1.0.json",
    "squadshifts/amazon": "squadshifts/amazon_reviews_v1.0.json",
}
"""Set name -> its file, relative to the shared data folder (only sets that exist offline: the
New York Times set of SQuADShifts is not among them)."""

SHIFT_SETS = ("squadshifts/new_wiki", "squadshifts/reddit", "squadshifts/amazon")
"""The SQuADShifts sets, in the order of the paper (smallest shift first)."""

PUBLISHED_RESULTS = "squadshifts/published_results.csv"
"""The SQuADShifts leaderboard joined with SQuAD v1.1 test scores, under the shared folder."""


def short_name(name: str) -> str:
    """The part of a set name after its family, as the published columns spell it.

    >>> short_name("squadshifts/new_wiki"), short_name("squad/dev")
    ('new_wiki', 'dev')
    """
    return name.rsplit("/", 1)[-1]


def resolve_eval_set(name: str, root: Path | None = None) -> Path:
    """The file of a named evaluation set (not checked for existence; see `eval_set_path`).

    Raises:
        KeyError: `name` is not a registered set; the message lists the names.
    """
    if name not in EVAL_SETS:
        raise KeyError(f"unknown evaluation set {name!r}; known sets: {', '.join(EVAL_SETS)}")
    return shared_dir(root) / EVAL_SETS[name]


def eval_set_path(name: str, root: Path | None = None) -> Path:
    """The file of a named evaluation set, which must exist.

    Raises:
        KeyError: an unknown name.
        FileNotFoundError: the set's file is not in the shared data folder.
    """
    path = resolve_eval_set(name, root)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: evaluation set {name!r} is not beside the project "
            "(set QA_SHARED to the folder that holds it)"
        )
    return path


def published_results_path(root: Path | None = None) -> Path:
    """Where the published SQuADShifts results are (`PUBLISHED_RESULTS` in the shared folder)."""
    return shared_dir(root) / PUBLISHED_RESULTS
