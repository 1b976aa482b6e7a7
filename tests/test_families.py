"""Every shipped family passes the conformance check on small real data, for each task it lists."""

from __future__ import annotations

import pytest

from automl.spaces import load_spaces
from automl.testing import verify_family
from conftest import load_dataset

#: A small real table per task: titanic has numbers, strings, booleans and missing values.
DATA = {"binary": ("titanic", 240), "multiclass": ("penguins", 240), "regression": ("auto_mpg", 240)}
CASES = [(family, task) for family in load_spaces().values() for task in family.tasks]


@pytest.mark.parametrize(("family", "task"), CASES, ids=[f"{f.name}-{t}" for f, t in CASES])
def test_family_conforms(family, task) -> None:
    name, rows = DATA[task]
    X, y = load_dataset(name)
    check = verify_family(family, task, X.iloc[:rows], y.iloc[:rows])
    assert check.configurations == len(family.defaults) + 2
    assert (check.rungs > 0) == (family.fidelity is not None)
