import os
from pathlib import Path
import pytest
SHARED_DIR = Path(os.environ.get("TRACKER_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
@pytest.fixture
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip("../shared reference data is absent")
    return SHARED_DIR
