"""Export a saved artifact as a model that runs with torch alone: TorchScript or ``torch.export``.

``automl export ARTIFACT --format torchscript --output DIR`` writes two files. For a table:

- ``DIR/model.torchscript.pt`` (``torch.jit.load``), or ``DIR/model.pt2`` for
  ``--format torch-export`` (``torch.export.load(...).module()``): one module
  ``forward(numeric, categorical)`` that runs the fitted preprocessing *and* the network:

  - ``numeric``: float32 tensor ``(N, len(numeric_columns))``, raw values (booleans as 0/1),
    ``NaN`` where missing; the module adds the training missing indicators, imputes the
    training statistic, clips to the training quantiles (if the model was trained with
    clipping) and scales with the fitted scaler (standard, robust or min-max);
  - ``categorical``: int64 tensor ``(N, len(categorical_columns))`` of category codes: the
    position of the value (as a string) in that column's ``categories``, ``-2`` where
    missing (the module uses the training ``(missing)`` category, or all zeros where training
    had no missing values) and ``-1`` for a value unseen in training (all zeros, like the
    one-hot encoder);
  - returns class probabilities ``(N, n_classes)`` in the order of ``classes``, or
    predicted values ``(N, n_targets)`` in the target's units for regression.

- ``DIR/preprocessing.json``: the documented step that stays outside the module, turning a
  row into those two tensors: ``numeric_columns`` (of which ``boolean_columns`` hold
  true/false, yes/no or 1/0), ``categorical_columns``, each categorical column's
  ``categories``, plus ``classes`` (or ``target``), ``task`` and ``input_shape``.
  :func:`encode_rows` is that step in Python (numpy, torch, and pandas for convenience).

For images and sequences read as arrays (.npz, image folders) the module is ``forward(inputs)``:
raw float32 arrays ``(N, *input_shape)``, ``NaN`` where missing; it standardizes with the
training means and deviations and returns the same outputs; ``preprocessing.json`` holds the
task, ``input_shape`` and ``classes`` (or ``target``). Images from pixel columns
(``--image-shape``) export as tables.

An ensemble exports as one module too: it runs each member's own fitted preprocessing
(members may differ in imputer and scaler) on the same inputs and averages the members.

Text models, cluster and generate models, and tables with dates, free text or high-cardinality
(embedding) categories are refused: those steps are not in the module, and export says so,
naming the input kind, task or column (``automl predict`` and ``automl serve`` take them all).

TorchScript scripts the module. An architecture with Python-only code is traced instead, and a
trace records only the path its example inputs took, so the traced module is checked against
the saved model on varied sample rows and export is refused, naming why scripting failed and
how the trace differs, when they disagree (``captured_by`` in ``preprocessing.json`` says which
capture was used).

The exported module gives the same predictions as ``automl predict`` on the same rows (up to
float32 rounding); ``tests/test_export.py`` checks it.

The package, one module per job (it imports :func:`export_artifact` and :func:`encode_rows`;
import any other name from the module that holds it):

- ``artifact``: :func:`export_artifact`, from a saved artifact to the two files, and the refusal
  of what export does not cover;
- ``fitted_steps``: a fitted ``FeaturePreprocessor`` as per-column vectors (``preprocessing_steps``);
- ``modules``: the torch modules that are exported (encoders, the network, output decoding);
- ``capture``: TorchScript scripting or tracing, and ``torch.export`` (``capture_module``, ``save_module``);
- ``checks``: the check of a traced module against the saved model, on varied sample rows;
- ``encoding``: :func:`encode_rows`, the rows → tensors step outside the module, and
  ``preprocessing.json``'s account of the module's inputs.
"""

from automl.export.artifact import export_artifact
from automl.export.encoding import encode_rows

__all__ = ["encode_rows", "export_artifact"]
