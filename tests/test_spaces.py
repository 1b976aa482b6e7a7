"""Search spaces and presets: the shipped YAML files, and a clear error for every malformed one."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

import automl
from automl.costs import COSTS
from automl.data import infer_schema
from automl.errors import ConfigError, SearchSpaceError
from automl.families import build
from automl.presets import load_preset
from automl.spaces import Fidelity, builtin_dir, load_spaces, parse_family, select_families
from conftest import QUICK

#: A valid family file; each malformed case below breaks one thing in a copy of it.
VALID: dict[str, Any] = {
    "family": "my_forest",
    "tasks": ["binary", "multiclass", "regression"],
    "estimator": {
        "classification": "sklearn.ensemble.RandomForestClassifier",
        "regression": "sklearn.ensemble.RandomForestRegressor",
    },
    "seed_param": "random_state",
    "fidelity": {"param": "n_estimators", "min": 2},
    "defaults": [{"n_estimators": 10, "criterion": "gini"}],
    "params": {
        "n_estimators": {"type": "int", "low": 4, "high": 32, "log": True},
        "criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
        "max_depth": {"type": "int", "low": 2, "high": 8, "when": {"criterion": "entropy"}},
        "max_features": {"type": "float", "low": 0.1, "high": 1.0},
    },
}


def write(folder: Path, data: Any, name: str = "family.yaml") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def broken(change: dict[str, Any] | None = None, drop: str | None = None) -> dict[str, Any]:
    """VALID with keys set (dotted paths) or one removed."""
    data = copy.deepcopy(VALID)
    for dotted, value in (change or {}).items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    if drop:
        *parents, last = drop.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]
    return data


# ---- the shipped files ---------------------------------------------------------------------


def test_shipped_spaces_load_and_build_for_every_task(titanic: tuple[Any, Any]) -> None:
    spaces = load_spaces()
    assert set(spaces) == {p.stem for p in builtin_dir().glob("*.yaml")} and not spaces.unavailable
    schema = infer_schema(titanic[0])
    for family in spaces.values():
        assert family.description, f"{family.source} has no description"
        for task in family.tasks:
            for config in family.defaults:
                assert set(config) <= {p.name for p in family.params}
                pipeline = build(family, task, config, schema, seed=0, threads=1)
                model = pipeline[-1]
                assert type(model) is family.estimator_class(task), (
                    f"{family.name} built a {type(model).__name__} for {task}"
                )
                assert {k: v for k, v in model.get_params().items() if k in config} == dict(config)


def test_shipped_presets_load() -> None:
    presets = automl.available_presets()
    assert {"fast", "balanced", "best", "green"} <= set(presets)
    spaces = load_spaces()
    for preset in presets.values():
        assert preset.cost in COSTS
        assert preset.families is None or set(preset.families) <= set(spaces), preset.name
        preset.make_pruner(), preset.make_sampler(0)


def test_green_preset_picks_the_cheapest_model_within_tolerance(titanic: tuple[Any, Any]) -> None:
    green = load_preset("green")
    model = automl.AutoMLClassifier(
        preset="green", families=["logistic_regression", "random_forest"], n_trials=8, cv=3, seed=0
    ).fit(*titanic)
    tolerance = green.selection["tolerance"]
    assert model.selection_ == {"rule": "cheapest_within", "tolerance": tolerance} and tolerance > 0
    front = model.pareto_front_
    best = front.score.max()
    within = front[front.score >= best - tolerance * abs(best)]
    assert model.chosen_.energy_kwh == within.energy_kwh.min()
    assert model.chosen_.score >= best - tolerance * abs(best)


# ---- malformed family files ----------------------------------------------------------------

MALFORMED = [
    # (what is broken, the file's data, the key the error names, words of the problem)
    ("family missing", broken(drop="family"), "family", "missing"),
    ("unknown top-level key", broken({"hyperparams": {}}), "hyperparams", "unknown key"),
    ("unknown task", broken({"tasks": ["binary", "ranking"]}), "tasks", "expected a list drawn from"),
    ("no tasks", broken({"tasks": []}), "tasks", "expected a list drawn from"),
    (
        "estimator missing for a task",
        broken(drop="estimator.regression"),
        "estimator.regression",
        "no regression estimator",
    ),
    (
        "unknown estimator module",
        broken({"estimator.classification": "sklearn.nosuchmodule.Forest"}),
        "estimator.classification",
        "unknown estimator",
    ),
    (
        "unknown estimator class",
        broken({"estimator.regression": "sklearn.ensemble.RandomJungleRegressor"}),
        "estimator.regression",
        "unknown estimator",
    ),
    (
        "unknown parameter type",
        broken({"params.max_features.type": "double"}),
        "params.max_features.type",
        "unknown type 'double'",
    ),
    (
        "parameter without type",
        broken({"params.max_features": {"low": 0.1, "high": 1.0}}),
        "params.max_features.type",
        "unknown type None",
    ),
    (
        "parameter not a mapping",
        broken({"params.max_features": 0.5}),
        "params.max_features",
        "expected a mapping",
    ),
    (
        "unknown parameter key",
        broken({"params.max_features.default": 0.5}),
        "params.max_features.default",
        "unknown key",
    ),
    (
        "low greater than high",
        broken({"params.max_features.low": 2.0}),
        "params.max_features",
        "low (2.0) is greater than high (1.0)",
    ),
    (
        "log scale with low = 0",
        broken({"params.max_features.low": 0.0, "params.max_features.log": True}),
        "params.max_features.log",
        "log scale needs low > 0",
    ),
    (
        "log scale with low < 0",
        broken({"params.n_estimators.low": -4}),
        "params.n_estimators.log",
        "log scale needs low > 0",
    ),
    (
        "bound not a number",
        broken({"params.max_features.high": "one"}),
        "params.max_features.high",
        "expected a number",
    ),
    ("bound missing", broken(drop="params.max_features.low"), "params.max_features.low", "expected a number"),
    (
        "empty choices",
        broken({"params.criterion.choices": []}),
        "params.criterion.choices",
        "non-empty list of choices",
    ),
    (
        "choices not a list",
        broken({"params.criterion.choices": "gini"}),
        "params.criterion.choices",
        "non-empty list of choices",
    ),
    (
        "condition on a parameter that does not exist",
        broken({"params.max_depth.when": {"splitter": "best"}}),
        "params.max_depth.when",
        "condition on 'splitter'",
    ),
    (
        "condition on a parameter defined below",
        broken({"params.criterion.when": {"max_features": 0.5}}),
        "params.criterion.when",
        "condition on 'max_features'",
    ),
    (
        "fidelity on a parameter that does not exist",
        broken({"fidelity.param": "n_trees"}),
        "fidelity.param",
        "must be one of this file's int params",
    ),
    (
        "fidelity on a float parameter",
        broken({"fidelity.param": "max_features"}),
        "fidelity.param",
        "must be one of this file's int params",
    ),
    (
        "default for an unknown parameter",
        broken({"defaults": [{"n_trees": 10}]}),
        "defaults[0].n_trees",
        "not a parameter of this family",
    ),
    (
        "default out of range",
        broken({"defaults": [{"n_estimators": 1000}]}),
        "defaults[0].n_estimators",
        "outside [4, 32]",
    ),
    (
        "default not among the choices",
        broken({"defaults": [{"criterion": "gain"}]}),
        "defaults[0].criterion",
        "not one of the choices",
    ),
    ("default not a mapping", broken({"defaults": [10]}), "defaults[0]", "expected a mapping"),
    (
        "unknown categorical encoding",
        broken({"preprocessing": {"categorical": "target"}}),
        "preprocessing.categorical",
        "expected one of",
    ),
    ("params not a mapping", broken({"params": ["n_estimators"]}), "params", "expected a mapping"),
    ("preload not a list", broken({"preload": "torch"}), "preload", "expected a list of module names"),
    (
        "preload of a missing module",
        broken({"preload": ["no_such_module_anywhere"]}),
        "preload",
        "'no_such_module_anywhere' is not installed",
    ),
    (
        "refit pace past 1",
        broken({"refit_pace": 2}),
        "refit_pace",
        "expected a share above 0 and at most 1, got 2",
    ),
    (
        "preload of a module in a missing package",
        broken({"preload": ["no_such_package.sub"]}),
        "preload",
        "'no_such_package.sub' is not installed",
    ),
]


@pytest.mark.parametrize(
    ("data", "key", "problem"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_malformed_family_file_names_file_key_and_problem(
    tmp_path: Path, data: dict[str, Any], key: str, problem: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(SearchSpaceError) as error:
        load_spaces(tmp_path)
    message = str(error.value)
    assert str(path) in message
    assert f"'{key}'" in message
    assert problem in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("family: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping of keys, got list"),
        ("", "expected a mapping of keys, got NoneType"),
    ],
)
def test_unreadable_family_file_names_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SearchSpaceError, match=re.escape(problem)) as error:
        parse_family(path)
    assert str(path) in str(error.value)


def test_same_family_in_two_files_names_both(tmp_path: Path) -> None:
    first = write(tmp_path, VALID, "a.yaml")
    second = write(tmp_path, VALID, "b.yml")
    with pytest.raises(SearchSpaceError) as error:
        load_spaces(tmp_path)
    assert str(first) in str(error.value) and str(second) in str(error.value)
    assert "'my_forest' is also defined" in str(error.value)


def test_missing_or_empty_search_space_location(tmp_path: Path) -> None:
    with pytest.raises(SearchSpaceError, match="no such search-space file or folder"):
        load_spaces(tmp_path / "nowhere")
    with pytest.raises(SearchSpaceError, match="no search-space YAML files found"):
        load_spaces(tmp_path)


def test_malformed_user_space_fails_fit_before_searching(tmp_path: Path, iris: tuple[Any, Any]) -> None:
    write(tmp_path, broken({"params.max_features.low": 2.0}))
    with pytest.raises(SearchSpaceError, match="low .* is greater than high"):
        automl.AutoMLClassifier(search_space=tmp_path, **QUICK).fit(*iris)


# ---- valid files: what they mean ---------------------------------------------------------------


def test_valid_file_parses_into_its_parts(tmp_path: Path) -> None:
    family = load_spaces(write(tmp_path, VALID))["my_forest"]
    assert family.tasks == ("binary", "multiclass", "regression")
    assert family.fidelity == Fidelity(param="n_estimators", min=2)
    assert family.defaults == ({"n_estimators": 10, "criterion": "gini"},)
    assert [p.name for p in family.params] == ["n_estimators", "criterion", "max_depth", "max_features"]
    assert family.params[2].when == {"criterion": ("entropy",)}
    assert family.key("criterion") == "my_forest.criterion"


def test_conditional_parameter_is_sampled_only_when_its_condition_holds(tmp_path: Path) -> None:
    family = load_spaces(write(tmp_path, VALID))["my_forest"]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        params = family.suggest(trial, "binary")
        assert ("max_depth" in params) == (params["criterion"] == "entropy")
        assert 4 <= params["n_estimators"] <= 32 and 0.1 <= params["max_features"] <= 1.0
        assert set(trial.params) == {family.key(name) for name in params}
        seen.add(params["criterion"])
        study.tell(trial, 0.0)
    assert seen == {"gini", "entropy"}


def test_trial_params_round_trip(tmp_path: Path) -> None:
    family = load_spaces(write(tmp_path, VALID))["my_forest"]
    config = {"n_estimators": 10, "criterion": "gini"}
    assert family.from_trial_params({"family": "my_forest", **family.trial_params(config)}) == config


@pytest.mark.parametrize(("full", "rungs"), [(90, [10, 30]), (9, [3]), (3, []), (2, [])])
def test_fidelity_rungs_stay_between_min_and_full(full: int, rungs: list[int]) -> None:
    assert Fidelity(param="n_estimators", min=2).rungs(full) == rungs


def test_select_families_by_task_in_priority_order() -> None:
    spaces = load_spaces()
    regression = select_families(spaces, "regression", None)
    assert "ridge" in [f.name for f in regression] and "logistic_regression" not in [
        f.name for f in regression
    ]
    priorities = [f.priority for f in regression]
    assert priorities == sorted(priorities)
    with pytest.raises(ConfigError, match=r"unknown family 'xgboost'; available families: \["):
        select_families(spaces, "binary", ["xgboost"])
    with pytest.raises(ConfigError, match="family 'ridge' does not support the task 'binary'"):
        select_families(spaces, "binary", ["ridge"])


def test_user_search_space_replaces_the_builtin_one(tmp_path: Path, iris: tuple[Any, Any]) -> None:
    narrow = {
        "family": "narrow_logreg",
        "tasks": ["binary", "multiclass"],
        "estimator": {"classification": "sklearn.linear_model.LogisticRegression"},
        "preprocessing": {"categorical": "onehot", "scale": True},
        "fixed": {"max_iter": 500},
        "params": {"C": {"type": "float", "low": 0.5, "high": 2.0, "log": True}},
    }
    write(tmp_path, narrow)
    model = automl.AutoMLClassifier(search_space=tmp_path, **QUICK).fit(*iris)
    assert model.families_ == ["narrow_logreg"]
    assert set(model.leaderboard_.family) == {"narrow_logreg"}
    assert all(0.5 <= params["C"] <= 2.0 for params in model.leaderboard_.params)


def test_a_preloaded_module_is_imported_once_and_no_trial_is_charged_for_it(
    tmp_path: Path, iris: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A family's lazily imported module is imported beside the first trials; none of them pays for it."""
    stamp = tmp_path / "imported"
    probe = f"import time\ntime.sleep(2)\nopen({str(stamp)!r}, 'a').write('imported\\n')\n"
    (tmp_path / "preload_probe.py").write_text(probe)
    monkeypatch.syspath_prepend(str(tmp_path))
    spaces = tmp_path / "spaces"
    spaces.mkdir()
    write(spaces, broken({"preload": ["preload_probe"]}))
    model = automl.AutoMLClassifier(search_space=spaces, **QUICK).fit(*iris)
    assert stamp.read_text() == "imported\n"
    assert (model.leaderboard_.fit_seconds < 2).all()


def test_user_search_space_is_searched_under_a_preset_that_lists_builtin_families(
    tmp_path: Path, iris: tuple[Any, Any]
) -> None:
    """The 'fast' preset lists built-in families; the user's own space still decides what is searched."""
    write(tmp_path, broken({"tasks": ["multiclass"]}, drop="estimator.regression"))
    model = automl.AutoMLClassifier(search_space=tmp_path, **{**QUICK, "preset": "fast"}).fit(*iris)
    assert model.families_ == ["my_forest"]


# ---- presets --------------------------------------------------------------------------------


def write_preset(folder: Path, **fields: Any) -> Path:
    return write(folder, {"time_budget": 60, "cv": 3, **fields}, "my_preset.yaml")


def test_preset_file_is_read_like_a_builtin_one(tmp_path: Path) -> None:
    path = write_preset(
        tmp_path,
        families=["ridge"],
        selection={"rule": "knee"},
        cost="latency",
        pruner={"name": "PercentilePruner", "percentile": 10.0},
    )
    preset = load_preset(path)
    assert (preset.name, preset.families, preset.cv, preset.cost) == ("my_preset", ("ridge",), 3, "latency")
    assert isinstance(preset.make_pruner().pruner, optuna.pruners.PercentilePruner)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"folds": 3}, "unknown key 'folds'"),
        ({"pruner": {"name": "EarlyPruner"}}, "unknown pruner 'EarlyPruner'"),
        ({"sampler": {"name": "TPESampler", "n_startup": 3}}, "bad sampler arguments"),
        ({"selection": {"rule": "cheapest"}}, "unknown selection rule 'cheapest'"),
        ({"cost": "money"}, "unknown cost 'money'"),
    ],
)
def test_malformed_preset_file(tmp_path: Path, fields: dict[str, Any], problem: str) -> None:
    path = write_preset(tmp_path, **fields)
    with pytest.raises(ConfigError, match=re.escape(problem)):
        preset = load_preset(path)
        preset.make_pruner(), preset.make_sampler(0)


def test_unknown_preset_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown preset 'fastest'; choose one of \['balanced', 'best', 'fast', 'green'\]"
    ):
        load_preset("fastest")
    with pytest.raises(ConfigError, match="does not exist"):
        load_preset(tmp_path / "missing.yaml")


def test_preset_naming_an_unknown_family_is_an_error(tmp_path: Path, iris: tuple[Any, Any]) -> None:
    path = write_preset(tmp_path, families=["logistic_regression", "xgboost"])
    with pytest.raises(ConfigError, match="unknown family 'xgboost'"):
        automl.AutoMLClassifier(preset=str(path), n_trials=2, seed=0).fit(*iris)


# ---- families whose package is missing ------------------------------------------------------------


def test_a_family_whose_package_is_missing_is_left_out_with_an_install_hint(
    tmp_path: Path, iris: tuple[Any, Any]
) -> None:
    write(
        tmp_path,
        {
            **VALID,
            "family": "absent",
            "estimator": {
                "classification": "no_such_package.Forest",
                "regression": "no_such_package.ForestRegressor",
            },
        },
        "absent.yaml",
    )
    write(tmp_path, VALID, "forest.yaml")
    spaces = load_spaces(tmp_path)
    assert list(spaces) == ["my_forest"]
    assert spaces.unavailable == {
        "absent": "family 'absent' needs the package 'no_such_package', which is not installed: "
        "pip install no_such_package"
    }
    with pytest.raises(ConfigError, match="pip install no_such_package"):
        automl.AutoMLClassifier(search_space=tmp_path, families=["absent"], **QUICK).fit(*iris)
    assert automl.AutoMLClassifier(search_space=tmp_path, **QUICK).fit(*iris).families_ == ["my_forest"]
