"""The torch modules an export captures: fitted preprocessing (:class:`FeatureEncoder` for
tables, :class:`ArrayEncoder` for arrays), the network and the decoding of its outputs."""

from typing import List

import torch


class FeatureEncoder(torch.nn.Module):
    """One fitted ``FeaturePreprocessor`` in torch (impute, clip, scale, missing indicators,
    one-hot), laying features out exactly as its ``transform`` does, shaped as the network's input."""

    category_sizes: List[int]  # typing.List: TorchScript does not read list[int] in class annotations
    input_shape: List[int]

    def __init__(self, steps: dict, input_shape: list[int]):
        super().__init__()
        self.register_buffer("fills", torch.tensor(steps["fills"], dtype=torch.float32))
        self.register_buffer("clip_lows", torch.tensor(steps["clip_lows"], dtype=torch.float32))
        self.register_buffer("clip_highs", torch.tensor(steps["clip_highs"], dtype=torch.float32))
        self.register_buffer("multipliers", torch.tensor(steps["multipliers"], dtype=torch.float32))
        self.register_buffer("offsets", torch.tensor(steps["offsets"], dtype=torch.float32))
        self.register_buffer("indicated", torch.tensor(steps["indicated"], dtype=torch.int64))
        self.register_buffer("fill_codes", torch.tensor(steps["fill_codes"], dtype=torch.int64))
        self.category_sizes = [len(c) for c in steps["categories"]]
        self.input_shape = list(input_shape)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """The network's input for raw ``numeric`` features and ``categorical`` codes."""
        missing = torch.isnan(numeric)
        values = torch.where(missing, self.fills, numeric)
        values = torch.minimum(torch.maximum(values, self.clip_lows), self.clip_highs)
        parts = [values * self.multipliers + self.offsets, missing.index_select(1, self.indicated).to(torch.float32)]
        codes = torch.where(categorical == -2, self.fill_codes, categorical)  # -2: MISSING_CODE (TorchScript reads no globals)
        for j, size in enumerate(self.category_sizes):
            column = codes[:, j]
            one_hot = torch.nn.functional.one_hot(column.clamp(min=0), size).to(torch.float32)
            parts.append(one_hot * (column >= 0).to(torch.float32).unsqueeze(1))
        features = torch.cat(parts, dim=1)
        return features.reshape([features.shape[0]] + self.input_shape)


class ArrayEncoder(torch.nn.Module):
    """One fitted ``ArrayStandardizer`` in torch: the training mean and deviation per channel or
    feature, missing values to the training mean."""

    def __init__(self, features):
        super().__init__()
        shape = [1] * (len(features.input_shape_) + 1)
        shape[features.channel_axis] = -1
        self.register_buffer("mean", torch.tensor(features.mean_, dtype=torch.float32).reshape(shape))
        self.register_buffer("std", torch.tensor(features.std_, dtype=torch.float32).reshape(shape))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's input for raw ``(N, *input_shape)`` float32 arrays."""
        return torch.nan_to_num((inputs - self.mean) / self.std, nan=0.0)


class ExportedModel(torch.nn.Module):
    """Fitted preprocessing + network + output decoding, in torch, for tables.

    A single model has one encoder; an ensemble has one per member (each member's own fitted
    pipeline) and its network reads their stacked outputs (``automl.ensemble.EnsembleNetwork``).
    """

    def __init__(self, network, encoders: list[torch.nn.Module], output_activation: str | None, target_mean: float,
                 target_std: float, ensemble: bool = False):
        super().__init__()
        self.network = network
        self.encoders = torch.nn.ModuleList(encoders)
        self.ensemble = ensemble
        # The task's ``Task.output_activation``: softmax (classes), sigmoid (labels), or none (values).
        self.classification = output_activation == "softmax"
        self.multilabel = output_activation == "sigmoid"
        self.target_mean = float(target_mean)
        self.target_std = float(target_std)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        """Class probabilities or target values for raw ``numeric`` features and ``categorical`` codes."""
        encoded: List[torch.Tensor] = []
        for encoder in self.encoders:
            encoded.append(encoder(numeric, categorical))
        return self.decode(encoded)

    def decode(self, encoded: List[torch.Tensor]) -> torch.Tensor:
        """Class probabilities, per-label probabilities (multilabel), or values in the target's
        units, for the members' encoded inputs."""
        outputs = self.network(torch.stack(encoded, dim=1) if self.ensemble else encoded[0])
        if self.multilabel:
            return torch.sigmoid(outputs)
        if self.classification:
            return torch.softmax(outputs, dim=1)
        return outputs * self.target_std + self.target_mean


class ExportedArrayModel(ExportedModel):
    """:class:`ExportedModel` for image and sequence arrays, an :class:`ArrayEncoder` per member."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities or target values for raw ``(N, *input_shape)`` float32 arrays."""
        encoded: List[torch.Tensor] = []
        for encoder in self.encoders:
            encoded.append(encoder(inputs))
        return self.decode(encoded)
