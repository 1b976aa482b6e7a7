"""One YAML file read as a mapping, every problem reported with the file and the key at fault."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from automl.errors import AutoMLError


class YamlFile:
    """Reads ``source``; ``error`` is the exception class its problems are raised as."""

    def __init__(self, source: Path, error: type[AutoMLError]) -> None:
        self.source = source
        self.error = error

    def fail(self, key: str, problem: str) -> AutoMLError:
        return self.error(f"{self.source}: '{key}': {problem}")

    def load(self) -> dict[str, Any]:
        try:
            data = yaml.safe_load(self.source.read_text())
        except yaml.YAMLError as exc:
            raise self.error(f"{self.source}: not valid YAML: {' '.join(str(exc).split())}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise self.error(f"{self.source}: cannot be read ({exc})") from None
        if not isinstance(data, dict):
            raise self.error(f"{self.source}: expected a mapping of keys, got {type(data).__name__}")
        return data

    def only(self, data: Mapping[str, Any], allowed: set[str], prefix: str = "") -> None:
        """Refuse a key not in ``allowed``; ``prefix`` is where ``data`` sits in the file (``params.C.``)."""
        unknown = sorted(str(key) for key in set(data) - allowed)
        if unknown:
            raise self.error(
                f"{self.source}: unknown key '{prefix}{unknown[0]}'; allowed keys are {sorted(allowed)}"
            )

    def mapping(self, data: Mapping[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {value!r}")
        return value
