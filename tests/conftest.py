import os
import shutil

import pytest


@pytest.fixture(scope="session")
def kubectl() -> str:
    """Path of the kubectl on PATH; skips without one, except on CI, where that is an error."""
    path = shutil.which("kubectl")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("kubectl is not on PATH: CI must run the kubectl tests, not skip them")
        pytest.skip("kubectl is not on PATH")
    return path
