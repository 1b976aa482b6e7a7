"""Reusable checks for automl's extension points, as ``optuna.testing`` is for Optuna's.

``verify_family`` checks that one search-space family, built-in or your own YAML, works end to
end on real data: ``automl spaces validate`` checks the file, this checks the models it makes.
"""

from automl.testing.families import FamilyCheck, verify_family

__all__ = ["FamilyCheck", "verify_family"]
