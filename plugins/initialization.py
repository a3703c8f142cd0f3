"""Weight initialization as a search dimension: a model transform, offered as a regularizer that
is on (``enabled: True``) wherever a space offers it, and whose ``scheme`` the search samples. A
space whose ``regularizers.include`` leaves it out turns it off (PyTorch's own initialization).

``scheme="default"`` keeps the framework's own initialization; the others re-initialize every
weight matrix and kernel (linear, convolution, recurrent and attention weights) and zero the
biases of those layers. Embeddings, normalization layers and other parameters keep theirs.
A search space narrows it like any regularizer, e.g.
``regularizers: {initialization: {scheme: {choice: [default, kaiming_normal]}}}``.
"""

from __future__ import annotations

from torch import nn

from automl import hookimpl
from automl.components import Regularizer, RegularizerSpec

SCHEMES = {
    "default": None,
    "xavier_uniform": nn.init.xavier_uniform_,
    "xavier_normal": nn.init.xavier_normal_,
    "kaiming_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "kaiming_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "orthogonal": nn.init.orthogonal_,
}


class Initialization(Regularizer):
    """Re-initializes the model's weights with one scheme (lazy, not yet shaped ones are skipped)."""

    # Only weight values change, and a saved model's weights replace them: not needed to predict.
    training_only = True

    def __init__(self, scheme: str = "default"):
        if scheme not in SCHEMES:
            raise ValueError(f"unknown initialization {scheme!r}; use one of {', '.join(SCHEMES)}")
        self.scheme = scheme

    def transform_model(self, model: nn.Module) -> nn.Module:
        initialize = SCHEMES[self.scheme]
        if initialize is None:
            return model
        for module in model.modules():
            if isinstance(module, nn.Embedding):
                continue
            own = dict(module.named_parameters(recurse=False))
            weights = [n for n, p in own.items() if "weight" in n and p.dim() >= 2 and not _is_lazy(p)]
            for name in weights:
                initialize(own[name].data)
            if weights:
                for name, param in own.items():
                    if "bias" in name and not _is_lazy(param):
                        nn.init.zeros_(param.data)
        return model


def _is_lazy(param) -> bool:
    return isinstance(param, nn.parameter.UninitializedParameter)


@hookimpl
def automl_regularizers():
    return [
        RegularizerSpec(
            name="initialization", build=Initialization,
            space={"enabled": True, "scheme": {"choice": list(SCHEMES)}},
            description="weight initialization: default, Xavier/Glorot or He/Kaiming (uniform, normal), orthogonal",
        )
    ]
