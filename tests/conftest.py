import os
import shutil

import pytest


def required_tool(name: str, why: str) -> str:
    """Path of `name` on PATH; skips without it, except on CI, where that is an error: CI
    must run these tests, not skip them."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is not on PATH: {why}")
        pytest.skip(f"{name} is not on PATH")
    return path


@pytest.fixture(scope="session")
def kubectl() -> str:
    """Path of the kubectl on PATH."""
    return required_tool("kubectl", "CI must run the kubectl tests, not skip them")
