"""The built wheel carries the search spaces and presets, and an installed copy finds them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import json, automl
from automl.spaces import builtin_dir
print(json.dumps({
    "module": automl.__file__,
    "spaces_dir": str(builtin_dir()),
    "families": sorted(automl.load_spaces()),
    "presets": sorted(automl.available_presets()),
}))
"""


def test_installed_wheel_finds_its_search_spaces_from_another_folder(tmp_path: Path) -> None:
    dist, target, elsewhere = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(ROOT)],
        check=True,
        cwd=elsewhere,
    )
    (wheel,) = dist.glob("automl_pareto-*.whl")  # the distribution's name; automl is taken on PyPI

    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f"automl/search_spaces/{p.relative_to(ROOT / 'search_spaces')}"
        for p in (ROOT / "search_spaces").rglob("*.yaml")
    }
    assert any(name.startswith("automl/search_spaces/presets/") for name in shipped)
    assert shipped <= names, sorted(shipped - names)
    assert not any(name.startswith(("tests/", "search_spaces/")) for name in names)

    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--quiet", "--target", str(target), str(wheel)],
        check=True,
    )
    # The installed copy comes first on the path, before this checkout's editable install.
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=elsewhere, env=env, check=True, capture_output=True, text=True
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(found["module"]).is_relative_to(target)
    assert Path(found["spaces_dir"]) == target / "automl" / "search_spaces"
    assert found["families"] == sorted(p.stem for p in (ROOT / "search_spaces").glob("*.yaml"))
    assert found["presets"] == sorted(p.stem for p in (ROOT / "search_spaces" / "presets").glob("*.yaml"))
