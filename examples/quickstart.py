"""A real search on a bundled dataset: who survived the Titanic, in about a minute.

Run it with ``make run`` (or ``.venv/bin/python examples/quickstart.py``). It saves the model
and the HTML report under runs/quickstart/ and prints the best trials and the chosen model.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import automl

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "titanic.csv"
OUT = ROOT / "runs" / "quickstart"
TIME_BUDGET = 60


def main() -> None:
    data = pd.read_csv(DATA)
    X, y = data.drop(columns="survived"), data["survived"]
    print(
        f"Searching for {TIME_BUDGET} s on {DATA.name}: {len(X)} rows, {X.shape[1]} columns, target 'survived'"
    )

    model = automl.fit(X, y, preset="fast", time_budget=TIME_BUDGET, seed=0)
    path = model.save(OUT / "model.joblib")
    report = model.report(OUT / "report.html")

    metric = model.metric_
    board = model.leaderboard_
    complete = (
        board[board.state == "complete"]
        .nlargest(10, "score")
        .assign(score=lambda b: b.score.map(metric.display))
    )
    print(
        f"\n{len(board)} trials: {board.state.value_counts().to_dict()}; the best by {metric.display_name}:"
    )
    columns = ["number", "family", "score", "fit_seconds", "energy_kwh", "params"]
    formats = {"score": "{:.4f}".format, "fit_seconds": "{:.2f}".format, "energy_kwh": "{:.2e}".format}
    print(complete[columns].to_string(index=False, max_colwidth=80, formatters=formats))

    chosen = model.chosen_
    print(
        f"\nChosen ({model.selection_['rule']}): {chosen.label}, "
        f"{metric.display_name} {metric.display(chosen.score):.4f}; the search stopped: {model.stop_detail_}"
    )
    print(f"Parameters: {model.best_params_}")
    print(
        f"The search and refit took {model.fit_seconds_:.1f} s and {model.total_energy_.energy_kwh * 1000:.3f} Wh "
        f"({model.energy_method_['description']})"
    )
    print(f"Model saved to {path.relative_to(ROOT)}; open the report {report.relative_to(ROOT)} in a browser")


if __name__ == "__main__":
    main()
