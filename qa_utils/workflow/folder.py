"""One run's folder layout, shared by the notebooks, the runner and the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import datasets
from transformers.utils import logging as transformers_logging

from qa_utils.core.data import resolve_squad_source
from qa_utils.project.config import Profile, get_profile
from qa_utils.project.paths import project_root
from qa_utils.project.seed import set_seed


@dataclass(frozen=True)
class Run:
    """A run folder: what the notebooks of one profile write and read."""

    profile: Profile
    dir: Path

    @property
    def model_dir(self) -> Path:
        """The fine-tuned model (written by notebook 02, read by the rest)."""
        return self.dir / "model"

    @property
    def eval_dir(self) -> Path:
        """predictions.json, nbest.json, metrics.json and records.parquet (notebook 03)."""
        return self.dir / "eval"

    @property
    def tables_dir(self) -> Path:
        """Tables the notebooks compute (robustness, shift), apart from `evaluate`'s folder."""
        path = self.dir / "tables"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def figures_dir(self) -> Path:
        """Every figure the notebooks save."""
        path = self.dir / "figures"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def train_path(self) -> str:
        """Where the training split is read from (a file path or a Hub id)."""
        return str(resolve_squad_source("train"))

    @property
    def dev_path(self) -> str:
        """Where the dev split is read from (a file path or a Hub id)."""
        return str(resolve_squad_source("validation"))


def quiet_progress_bars() -> None:
    """Turn off datasets', transformers' and the Hub's progress bars in this process.

    In a notebook each tokenization and model save would leave a bar in the cell's output.
    Training keeps its own bar (Trainer's callback, not these switches).
    """
    datasets.disable_progress_bars()
    transformers_logging.disable_progress_bar()  # also huggingface_hub's


def setup_run(profile: str = "", run_dir: str = "", seed: int | None = None, **overrides) -> Run:
    """Resolve the profile, create the run folder, seed everything and quiet the progress bars.

    Args:
        profile: a profile name; '' means $QA_PROFILE, else 'auto'.
        run_dir: the run folder, absolute or relative to the project root;
            '' means `runs/<profile>`.
        seed: overrides the profile's seed when given.
        **overrides: other profile fields to override (None values are ignored).
    """
    resolved = get_profile(profile, seed=seed, **overrides)
    # A relative folder is taken from the project root, wherever the kernel was started.
    folder = project_root() / (run_dir or Path("runs") / resolved.name)
    folder.mkdir(parents=True, exist_ok=True)
    set_seed(resolved.seed)
    quiet_progress_bars()
    return Run(resolved, folder)
