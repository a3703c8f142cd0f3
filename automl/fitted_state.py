"""The fitted preprocessing of a model folder, saved in a format whose loading runs no code.

``preprocessing.skops`` holds a dict whose values are fitted objects (the feature pipeline, the
target encoder, a task's extras such as a KMeans or a column space) or lists of them. It is
written with skops (``skops.io``), which stores each object as its class name plus its
attributes (numbers, strings, arrays, dicts, lists) and, on loading, rebuilds only classes it
is told to trust: nothing in the file can name a function to call, as a pickle can.

Why skops rather than JSON plus arrays written by hand: the fitted objects are mostly
scikit-learn transformers (imputers, scalers, encoders, a CountVectorizer, KMeans) whose fitted
attributes are scikit-learn's own business; a ``to_dict`` / ``from_dict`` for each would copy
those internals and break with scikit-learn releases. skops keeps them generically.

What is trusted is decided here, in code, never by the file: :data:`ALLOWED_TYPES` lists our
own fitted classes and the scikit-learn and numpy types they hold. Loading asks skops for every
type the file names that skops does not trust by itself and refuses, in one line, a file naming
any type outside that list, before anything is built.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from automl.errors import AutoMLError

PREPROCESSING_FILE = "preprocessing.skops"
LEGACY_PREPROCESSING_FILE = "preprocessing.pkl"

# Every type a model folder's preprocessing may hold beyond what skops trusts by itself.
ALLOWED_TYPES = frozenset({
    # automl's fitted objects
    "automl.data.preprocess.FeaturePreprocessor",
    "automl.data.preprocess.QuantileClipper",
    "automl.data.preprocess.TargetEncoder",
    "automl.data.preprocess.LabelSetEncoder",
    "automl.data.profile.ColumnDecision",
    "automl.data.text.TextTokenizer",
    "automl.data.arrays.ArrayStandardizer",
    "automl.data.unlabelled.NoTarget",
    "automl.data.columns.ColumnSpace",
    "automl.data.columns.NumericColumn",
    "numpy.dtype",
    # the scikit-learn transformers and estimators they hold (skops 0.16 trusts these by
    # itself; listed so that a skops that stops doing so still loads our model folders)
    "sklearn.pipeline.Pipeline",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.feature_extraction.text.CountVectorizer",
    "sklearn.cluster._kmeans.KMeans",
})


def dump_preprocessing(state: dict[str, Any]) -> bytes:
    """``state`` (fitted objects, or lists of them, by name) as the bytes of ``preprocessing.skops``."""
    import skops.io

    data = skops.io.dumps(state, compression=zipfile.ZIP_DEFLATED)  # the schema is verbose JSON
    unexpected = sorted(set(skops.io.get_untrusted_types(data=data)) - ALLOWED_TYPES)
    if unexpected:
        # A programming error, not a user's: a new fitted class must be added to ALLOWED_TYPES,
        # or the model folder it is saved in could never be loaded.
        raise TypeError(f"preprocessing holds types not in automl.fitted_state.ALLOWED_TYPES: {', '.join(unexpected)}")
    return data


def load_preprocessing(folder: Path) -> dict[str, Any]:
    """The fitted preprocessing of a model folder; never unpickles, never builds a type outside
    :data:`ALLOWED_TYPES` (an :class:`AutoMLError` names the first such type instead)."""
    import skops.io

    refuse_pickled_preprocessing(folder)
    path = Path(folder) / PREPROCESSING_FILE
    data = path.read_bytes()
    try:
        named = skops.io.get_untrusted_types(data=data)
    except Exception as exc:
        raise AutoMLError(f"{path} is not a readable preprocessing file ({type(exc).__name__})", "re-save or re-download the model folder") from None
    refused = sorted(set(named) - ALLOWED_TYPES)
    if refused:
        raise AutoMLError(
            f"{path} names the type {refused[0]}, which automl does not load from a model folder",
            "load only model folders saved by automl; this one was changed or made by something else",
        )
    try:
        state = skops.io.loads(data, trusted=named)
    except Exception as exc:
        raise AutoMLError(f"{path} is not a readable preprocessing file ({type(exc).__name__}: {exc})", "re-save or re-download the model folder") from None
    if not isinstance(state, dict) or "features" not in state:
        raise AutoMLError(f"{path} does not hold automl preprocessing", "re-save or re-download the model folder")
    return state


def refuse_pickled_preprocessing(folder: Path) -> None:
    """Raise an :class:`AutoMLError` for a model folder in the old format (``preprocessing.pkl``
    and no ``preprocessing.skops``), without opening the pickle."""
    folder = Path(folder)
    if not (folder / PREPROCESSING_FILE).is_file() and (folder / LEGACY_PREPROCESSING_FILE).is_file():
        raise AutoMLError(
            f"{folder} holds its preprocessing as {LEGACY_PREPROCESSING_FILE}, a pickle, which automl no longer loads "
            "because loading a pickle can run any code",
            "re-run the search with this version of automl (`automl search ... --output DIR`) to save the model in the safe format",
        )
