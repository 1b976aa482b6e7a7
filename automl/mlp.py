"""A PyTorch multi-layer perceptron as a scikit-learn estimator.

torch is imported inside ``fit``/``predict`` only, so ``import automl`` stays fast; a search
that includes the MLP imports it once up front (``preload`` in its YAML). With
``warm_start=True`` a further ``fit`` continues training up to ``max_epochs``, which is how
the search grows the MLP's fidelity (epochs) and checks the deadline between stages.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

#: The target code of a validation row whose class the training rows lack; the loss ignores it.
IGNORED = -100


class _BaseMLP(BaseEstimator):
    """A multi-layer perceptron trained with AdamW, on the CPU or a CUDA GPU.

    Parameters
    ----------
    hidden_units : int, default=128
        Width of each hidden layer.
    n_layers : int, default=2
        Hidden layers, each Linear -> ReLU -> Dropout.
    dropout : float, default=0.1
    learning_rate, weight_decay : float
        AdamW's.
    batch_size : int, default=128
    max_epochs : int, default=40
        Epochs of training; with ``warm_start``, a further ``fit`` trains on up to this many.
    warm_start : bool, default=False
        Continue from the epochs done instead of starting over (how the search grows the fidelity).
    device : {"auto", "cpu", "cuda"}, default="auto"
        "auto" takes a GPU when torch sees one.
    n_threads : int, optional
        torch's CPU threads.
    random_state : int, optional
        Seeds the initial weights, dropout and the shuffle of each epoch.
    patience : int, optional
        With validation data passed to ``fit`` (``X_val``, ``y_val``): stop when the validation
        loss has not improved for this many epochs. The network keeps its last weights, so that
        training in stages (warm starts) gives the same model as one fit; ``best_epoch_`` says
        how many epochs were worth training.
    precision : {"auto", "float32", "bfloat16", "float16"}, default="auto"
        "auto" trains in bfloat16 autocast on a CUDA GPU that supports it (float16 with a
        gradient scaler on one that does not) and in float32 on the CPU.

    Attributes
    ----------
    network_ : torch.nn.Sequential
    n_epochs_ : int
        Epochs trained so far.
    best_epoch_ : int
        The epoch with the lowest validation loss (the last epoch, without validation data).
    device_ : str
        Where the network lives.
    precision_ : str
        The precision it was trained in.
    """

    def __init__(
        self,
        hidden_units: int = 128,
        n_layers: int = 2,
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 128,
        max_epochs: int = 40,
        warm_start: bool = False,
        device: str = "auto",
        n_threads: int | None = None,
        random_state: int | None = None,
        patience: int | None = None,
        precision: str = "auto",
    ) -> None:
        self.hidden_units = hidden_units
        self.n_layers = n_layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.warm_start = warm_start
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.patience = patience
        self.precision = precision

    def _n_outputs(self, y: np.ndarray) -> int:
        raise NotImplementedError

    def _loss(self) -> Any:
        raise NotImplementedError

    def _targets(self, y: np.ndarray, fitted: bool = False) -> np.ndarray:
        """``y`` as the network's targets; ``fitted``: with the encoding learnt from the training targets."""
        raise NotImplementedError

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        X_val: Any = None,
        y_val: Any = None,
        sample_weight_val: Any = None,
    ) -> _BaseMLP:
        """Train for up to ``max_epochs``; with ``X_val``, ``y_val`` and ``patience``, stop on their loss.

        ``sample_weight`` (and ``sample_weight_val``) weight each row's loss.
        """
        import torch

        continuing = self.warm_start and hasattr(self, "network_")
        X, y = validate_data(self, X, y, dtype=np.float32, reset=not continuing)
        if self.n_threads:
            torch.set_num_threads(int(self.n_threads))
        target = self._targets(y)
        if not continuing:
            if self.random_state is not None:
                torch.manual_seed(self.random_state)
            self.device_ = (
                ("cuda" if torch.cuda.is_available() else "cpu") if self.device == "auto" else self.device
            )
            self.precision_ = _precision(self.precision, self.device_)
            self.network_ = self._network(X.shape[1], self._n_outputs(y)).to(self.device_)
            self.n_epochs_ = self.best_epoch_ = 0
            self.best_loss_ = np.inf
        if not continuing or not hasattr(self, "optimizer_"):
            self.optimizer_ = torch.optim.AdamW(
                self.network_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            self._scaler = torch.amp.GradScaler("cuda", enabled=self.precision_ == "float16")
        inputs = torch.as_tensor(X, device=self.device_)
        targets = torch.as_tensor(target, device=self.device_)
        weights = self._weights(sample_weight, target)
        validation = None
        if X_val is not None and self.patience:
            X_val = validate_data(self, X_val, dtype=np.float32, reset=False)
            target_val = self._targets(np.asarray(y_val), fitted=True)
            validation = (
                torch.as_tensor(X_val, device=self.device_),
                torch.as_tensor(target_val, device=self.device_),
                self._weights(sample_weight_val, target_val),
            )
        loss_fn = self._loss()
        while self.n_epochs_ < self.max_epochs and not self.stopped_early():
            self.network_.train()
            # One shuffle per epoch, seeded by the epoch: training in stages (warm starts) gives the same model.
            generator = torch.Generator().manual_seed((self.random_state or 0) * 100_003 + self.n_epochs_)
            for batch in torch.randperm(len(inputs), generator=generator).split(int(self.batch_size)):
                if len(batch) < 2 and len(inputs) >= 2:
                    continue
                self.optimizer_.zero_grad()
                with self._autocast():
                    loss = _weighted(loss_fn(self.network_(inputs[batch]), targets[batch]), weights[batch])
                self._scaler.scale(loss).backward()
                self._scaler.step(self.optimizer_)
                self._scaler.update()
            self.n_epochs_ += 1
            if validation is not None:
                self._score_epoch(loss_fn, *validation)
        if validation is None:
            self.best_epoch_ = self.n_epochs_
        return self

    def _autocast(self) -> Any:
        import torch

        dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(self.precision_)
        return torch.autocast("cuda", dtype=dtype, enabled=dtype is not None)

    def _weights(self, sample_weight: Any, target: np.ndarray) -> Any:
        """Each row's weight in the loss, as a tensor: ``sample_weight`` or 1, 0 where the target counts in no loss."""
        import torch

        if sample_weight is None:
            weights = np.ones(len(target), np.float32)
        else:
            weights = np.asarray(sample_weight, np.float32).reshape(-1)
            if len(weights) != len(target) or not np.isfinite(weights).all() or (weights < 0).any():
                raise ValueError("sample_weight must hold one finite, non-negative number per row")
            if not weights.any():
                raise ValueError("Sample weights must contain at least one non-zero number.")
        weights = np.where(self._counted(target), weights, np.float32(0.0))
        return torch.as_tensor(weights, device=self.device_)

    def _counted(self, target: np.ndarray) -> np.ndarray:
        """Which rows' targets count in the loss."""
        return np.ones(len(target), dtype=bool)

    def _score_epoch(self, loss_fn: Any, inputs: Any, targets: Any, weights: Any) -> None:
        import torch

        self.network_.eval()
        with torch.no_grad(), self._autocast():
            loss = float(_weighted(loss_fn(self.network_(inputs), targets), weights))
        if loss < self.best_loss_:
            self.best_epoch_, self.best_loss_ = self.n_epochs_, loss

    def stopped_early(self) -> bool:
        """Whether the validation loss has not improved for ``patience`` epochs: training goes no further."""
        patience = self.patience
        if patience is None or not np.isfinite(self.best_loss_):
            return False
        return self.n_epochs_ - self.best_epoch_ >= patience

    def _network(self, n_inputs: int, n_outputs: int) -> Any:
        from torch import nn

        layers: list[nn.Module] = []
        width = n_inputs
        for _ in range(int(self.n_layers)):
            layers += [nn.Linear(width, int(self.hidden_units)), nn.ReLU(), nn.Dropout(self.dropout)]
            width = int(self.hidden_units)
        layers.append(nn.Linear(width, n_outputs))
        return nn.Sequential(*layers)

    def _forward(self, X: Any) -> np.ndarray:
        import torch

        check_is_fitted(self, "network_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        self.network_.eval()
        with torch.no_grad():
            out = self.network_(torch.as_tensor(X, device=self.device_))
        return out.cpu().numpy()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle on the CPU, so a model trained on a GPU loads anywhere.

        The live network stays where it is (``Module.to`` moves in place, so a copy is moved).
        The optimizer is left out: a loaded model that trains on starts a fresh one.
        """
        state = self.__dict__.copy()
        if "network_" in state:
            if self.device_ != "cpu":
                state["network_"] = copy.deepcopy(self.network_).to("cpu")
            state["device_"] = "cpu"
            state.pop("optimizer_", None)
        return state


def _weighted(losses: Any, weights: Any) -> Any:
    """The weighted mean of per-row losses (a row's several outputs averaged first)."""
    per_row = losses.reshape(len(weights), -1).mean(dim=1)
    return (per_row * weights).sum() / weights.sum().clamp_min(1e-12)


def _precision(asked: str, device: str) -> str:
    """The precision to train in: 16-bit autocast only on a CUDA device, bfloat16 where it is supported."""
    import torch

    if asked not in ("auto", "float32", "bfloat16", "float16"):
        raise ValueError(f"precision must be auto, float32, bfloat16 or float16, got {asked!r}")
    if not device.startswith("cuda"):
        return "float32"
    if asked != "auto":
        return asked
    return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Softmax MLP classifier trained with AdamW on cross-entropy."""

    def _targets(self, y: np.ndarray, fitted: bool = False) -> np.ndarray:
        check_classification_targets(y)
        if not fitted and (not hasattr(self, "encoder_") or not self.warm_start):
            self.encoder_ = LabelEncoder().fit(y)
            self.classes_ = self.encoder_.classes_
        known = np.isin(y, self.classes_)
        codes = np.full(len(y), IGNORED, dtype=np.int64)  # a class the training rows lack counts in no loss
        codes[known] = self.encoder_.transform(y[known])
        return codes

    def _n_outputs(self, y: np.ndarray) -> int:
        return len(self.classes_)

    def _loss(self) -> Any:
        from torch import nn

        return nn.CrossEntropyLoss(ignore_index=IGNORED, reduction="none")

    def _counted(self, target: np.ndarray) -> np.ndarray:
        return target != IGNORED

    def predict_proba(self, X: Any) -> np.ndarray:
        logits = self._forward(X).astype(
            np.float64
        )  # a float32 softmax misses summing to 1 by more than sklearn allows
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)  # before reading classes_: an unfitted model raises NotFittedError
        return self.classes_[proba.argmax(axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """MLP regressor trained with AdamW on the squared error of the standardised target."""

    def _targets(self, y: np.ndarray, fitted: bool = False) -> np.ndarray:
        if not fitted and (not hasattr(self, "y_mean_") or not self.warm_start):
            self.y_mean_, self.y_scale_ = float(np.mean(y)), float(np.std(y) or 1.0)
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32).reshape(-1, 1)

    def _n_outputs(self, y: np.ndarray) -> int:
        return 1

    def _loss(self) -> Any:
        from torch import nn

        return nn.MSELoss(reduction="none")

    def predict(self, X: Any) -> np.ndarray:
        return self._forward(X).ravel() * self.y_scale_ + self.y_mean_
