"""``python -m automl``: the command line."""

from automl.cli import app

app(prog_name="automl")
