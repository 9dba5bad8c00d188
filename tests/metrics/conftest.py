import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"


@pytest.fixture(scope="session")
def shop_files(tmp_path_factory) -> Path:
    """The shared generator's files, small: the importers must take them exactly as they are."""
    out = tmp_path_factory.mktemp("shop")
    generator = SHARED / "bench" / "make_shop_data.py"
    if not generator.exists():
        pytest.skip(f"shared generator not found at {generator}")
    subprocess.run(
        [sys.executable, str(generator), str(out), "--orders", "3000", "--agents", "9", "--days", "20"],
        check=True,
        capture_output=True,
    )
    return out
