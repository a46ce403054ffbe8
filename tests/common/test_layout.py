"""The house's rules: `import neuralinv` stays light, and the layers contract and ruff pass."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.integration  # each test runs a subprocess


def test_import_is_light():
    """Importing the package loads no Ray, Playwright or matplotlib (no backend switch in a notebook)."""
    code = (
        "import sys, neuralinv; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ray', 'playwright', 'matplotlib', 'sklearn'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _tool(name):
    path = BIN / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed next to {sys.executable}: pip install -e '.[test]'")
        pytest.skip(f"{name} not installed")
    return str(path)


def test_layers_contract_kept():
    """An import that runs back up a layer (say nets -> training) breaks the import-linter contract."""
    run = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_clean():
    run = subprocess.run(
        [_tool("ruff"), "check", "src", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
