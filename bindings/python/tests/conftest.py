"""Where the tests find the models and the golden ground truth: like the Rust
tests, `CZIP_MODELS_DIR` (default ../shared/models) and `CZIP_GOLDEN_DIR`
(default ../shared/golden), relative to the checkout. Missing data skips a
test, except under CI (`CI` set), where it fails loudly."""
import os
from pathlib import Path

import pytest

import czip

ROOT = Path(__file__).resolve().parents[3]  # the checkout


def _dir(var, default):
    p = Path(os.environ.get(var) or (ROOT / default))
    return p if p.is_absolute() else (ROOT / p)


MODELS = _dir("CZIP_MODELS_DIR", "../shared/models")
GOLDEN = _dir("CZIP_GOLDEN_DIR", "../shared/golden")


def need(path: Path, what: str) -> Path:
    if not path.exists():
        msg = f"SKIPPED: {what} not found at {path}"
        if os.environ.get("CI"):
            pytest.fail(f"{msg} (CI is set: the data must be there)")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def golden() -> Path:
    return need(GOLDEN, "golden ground truth ($CZIP_GOLDEN_DIR)")


@pytest.fixture(scope="session")
def v001() -> czip.Model:
    return czip.Model.load(need(MODELS / "v001_eng.czm", "model v001 ($CZIP_MODELS_DIR)"))


@pytest.fixture(scope="session")
def v000() -> czip.Model:
    return czip.Model.load(need(MODELS / "v000_eng.czm", "model v000 ($CZIP_MODELS_DIR)"))


@pytest.fixture(scope="session")
def models(v000, v001):
    return {"v000": v000, "v001": v001, "v000_eng.czm": v000, "v001_eng.czm": v001}
