"""The data stage: load → validate → infer task → split → fit preprocessing on train → arrays."""

from automl.data.prepare import PreparedData, prepare_data

__all__ = ["PreparedData", "prepare_data"]
