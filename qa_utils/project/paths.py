"""Where things are: the repository, the data beside it, the official SQuAD scripts."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The folder holding the `qa_utils` package (the repository root in a checkout)."""

OFFICIAL_SCRIPTS = {"v1.1": "evaluate-v1.1.py", "v2.0": "evaluate-v2.0.py"}


def project_root(start: Path | None = None) -> Path:
    """The repository root (the folder holding pyproject.toml), else the current folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "qa_utils").is_dir():
            return folder
    return here


def shared_dir(root: Path | None = None) -> Path:
    """The data folder beside the repository: $QA_SHARED, else `../shared`."""
    env = os.environ.get("QA_SHARED")
    return Path(env) if env else (root or REPO_ROOT).parent / "shared"


def official_script(version: str = "v1.1", root: Path | None = None) -> Path:
    """The official SQuAD evaluation script of `version` ('v1.1' or 'v2.0') beside the project.

    Raises:
        FileNotFoundError: the script is not there (it is third-party code, never copied in).
    """
    path = shared_dir(root) / "squad" / "official" / OFFICIAL_SCRIPTS[version]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the official SQuAD {version} script is not beside the project "
            "(set QA_SHARED to the folder holding squad/official/)"
        )
    return path


def load_official(version: str = "v1.1") -> ModuleType:
    """Import the official evaluation script of `version` as a module (the tests' oracle)."""
    path = official_script(version)
    spec = importlib.util.spec_from_file_location(f"official_evaluate_{version[1:2]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
