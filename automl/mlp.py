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

    Attributes
    ----------
    network_ : torch.nn.Sequential
    n_epochs_ : int
        Epochs trained so far.
    device_ : str
        Where the network lives.
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

    def _n_outputs(self, y: np.ndarray) -> int:
        raise NotImplementedError

    def _loss(self) -> Any:
        raise NotImplementedError

    def _targets(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X: Any, y: Any) -> _BaseMLP:
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
            self.network_ = self._network(X.shape[1], self._n_outputs(y)).to(self.device_)
            self.n_epochs_ = 0
        if not continuing or not hasattr(self, "optimizer_"):
            self.optimizer_ = torch.optim.AdamW(
                self.network_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
        inputs = torch.as_tensor(X, device=self.device_)
        targets = torch.as_tensor(target, device=self.device_)
        loss_fn = self._loss()
        self.network_.train()
        while self.n_epochs_ < self.max_epochs:
            # One shuffle per epoch, seeded by the epoch: training in stages (warm starts) gives the same model.
            generator = torch.Generator().manual_seed((self.random_state or 0) * 100_003 + self.n_epochs_)
            for batch in torch.randperm(len(inputs), generator=generator).split(int(self.batch_size)):
                if len(batch) < 2 and len(inputs) >= 2:
                    continue
                self.optimizer_.zero_grad()
                loss = loss_fn(self.network_(inputs[batch]), targets[batch])
                loss.backward()
                self.optimizer_.step()
            self.n_epochs_ += 1
        return self

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


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Softmax MLP classifier trained with AdamW on cross-entropy."""

    def _targets(self, y: np.ndarray) -> np.ndarray:
        check_classification_targets(y)
        if not hasattr(self, "encoder_") or not self.warm_start:
            self.encoder_ = LabelEncoder().fit(y)
            self.classes_ = self.encoder_.classes_
        return self.encoder_.transform(y).astype(np.int64)

    def _n_outputs(self, y: np.ndarray) -> int:
        return len(self.classes_)

    def _loss(self) -> Any:
        from torch import nn

        return nn.CrossEntropyLoss()

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

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if not hasattr(self, "y_mean_") or not self.warm_start:
            self.y_mean_, self.y_scale_ = float(np.mean(y)), float(np.std(y) or 1.0)
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32).reshape(-1, 1)

    def _n_outputs(self, y: np.ndarray) -> int:
        return 1

    def _loss(self) -> Any:
        from torch import nn

        return nn.MSELoss()

    def predict(self, X: Any) -> np.ndarray:
        return self._forward(X).ravel() * self.y_scale_ + self.y_mean_
