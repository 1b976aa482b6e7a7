"""Benchmarks of automl against default models and peer AutoML systems (``python -m benchmarks.run``)."""
