"""An ensemble is a kind of model: the weighted average of member networks, as one module.

Ensemble selection (``automl.ensemble``) picks the members and weights; the refit
(``automl.refit``) trains each member and saves the :class:`EnsembleNetwork` like any network;
the predictor loads it back with :func:`build_ensemble_network`. A bag of fold models is such
an ensemble too; each fold standardized a regression target on its own fit rows, so each of
its members carries an ``output_map`` ``[a, b]`` (in ``model.json``) that puts its outputs in
the artifact's one target encoding.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from automl.metrics import softmax


def member_predictions(classification: bool, outputs: np.ndarray) -> np.ndarray:
    """What the ensemble averages: class probabilities (softmax of logits, ``classification``) or values."""
    return softmax(outputs) if classification else outputs


def combined_outputs(classification: bool, predictions: np.ndarray) -> np.ndarray:
    """Averaged predictions in the form the metrics and the predictor read (log-probabilities or values)."""
    if classification:
        return np.log(np.clip(predictions, 1e-12, None))
    return predictions


class EnsembleNetwork(torch.nn.Module):
    """The weighted average of member networks, as one module (TorchScript-compatible).

    Its input stacks one matrix per member, ``(N, members, *input_shape)``: member ``i``
    reads ``x[:, i]``, the rows as its own preprocessing variant encoded them
    (:func:`member_inputs`). Its output is ``log(sum_i w_i softmax(f_i(x)))`` for classification, so the argmax and
    the softmax of the output are the ensemble's class and probabilities exactly as for a
    single network's logits, and ``sum_i w_i (a_i f_i(x) + b_i)`` for regression, where
    ``output_maps[i] = (a_i, b_i)`` (default ``(1, 0)``) puts member ``i``'s outputs in the
    ensemble's target encoding (a fold model's fold standardized the target on its fit rows).
    """

    def __init__(self, members: list, weights: list[float], classification: bool,
                 output_maps: list[tuple[float, float] | None] | None = None) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(members)
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32))
        self.classification = classification
        maps = [m if m is not None else (1.0, 0.0) for m in (output_maps or [None] * len(members))]
        # Not in the state_dict: model.json's member records hold them, and older artifacts load unchanged.
        self.register_buffer("output_scales", torch.tensor([a for a, _ in maps], dtype=torch.float32), persistent=False)
        self.register_buffer("output_shifts", torch.tensor([b for _, b in maps], dtype=torch.float32), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The ensemble's output for a batch ``x`` of stacked member inputs (see the class docstring)."""
        total = torch.zeros(1, device=self.weights.device)
        for i, member in enumerate(self.members):
            out = member(x[:, i])
            if self.classification:
                out = torch.softmax(out, dim=1)
            else:
                out = out * self.output_scales[i] + self.output_shifts[i]
            total = total + self.weights[i] * out
        if self.classification:
            return torch.log(total.clamp_min(1e-12))
        return total


def build_ensemble_network(config: dict, classification: bool, build_member: Callable[[dict], object]):
    """The (untrained) :class:`EnsembleNetwork` an ensemble config describes (``classification``:
    its task's ``is_classification``)."""
    members = config["ensemble"]
    return EnsembleNetwork([build_member(m["config"]) for m in members], [m["weight"] for m in members],
                           classification, [m.get("output_map") for m in members])


def member_inputs(matrices: list[np.ndarray]) -> np.ndarray:
    """One input for an :class:`EnsembleNetwork` from each member's matrix of the same rows."""
    return np.stack(matrices, axis=1)
