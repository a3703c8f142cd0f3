"""A small HTTP prediction service for a saved artifact (standard library ``http.server``).

``automl serve ARTIFACT --port 8000`` answers:

- ``GET /health`` → ``200 {"status": "ok", "task", "target", "input_kind", "rows", "classes": [...]}``
  plus what the rows hold: ``"features": [...]`` (tabular), ``"input_shape": [...]`` (image,
  sequence) or ``"text_column"`` (text);
- ``POST /predict`` with ``{"rows": [...]}`` → ``200 {"predictions": [...]}``, plus
  ``"probabilities": [{class: p, ...}, ...]`` for classification. The rows are what
  ``automl predict`` takes, per input kind (``automl/serve_rows.py``): objects of feature values
  for tables, nested lists of the training shape for images and sequences, strings for text.
  Missing values may be ``null``. A model that cannot be served (``generate``) is refused when
  the server starts.

Bad requests get a 4xx answer ``{"error": "...", "field": "..."}`` naming the offending field
(``rows``, ``rows[2]``, ``rows[2].age``): 400 for malformed JSON or rows, 404 / 405 for
other paths and methods, 411 without ``Content-Length``, 413 for a body over
``max_body_bytes`` (1 MiB by default) or more than ``max_rows`` rows, 415 for a body that
is not JSON. The model runs under a lock, so concurrent requests are safe.

It binds to ``127.0.0.1`` unless told otherwise: there is no authentication, so put it
behind your own gateway before exposing it.
"""

from __future__ import annotations

import json
import math
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from automl.serve_rows import RequestError, rows_reader

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_ROWS = 10_000


class PredictionService:
    """Validates a request's rows for the predictor's input kind and predicts; no HTTP in here."""

    def __init__(self, predictor, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.predictor = predictor
        self.max_rows = max_rows
        self.reader = rows_reader(predictor)
        self.lock = threading.Lock()

    def health(self) -> dict:
        """What the model expects and predicts."""
        info = {"status": "ok", "task": self.predictor.task, "target": self.predictor.target,
                "input_kind": self.predictor.info.get("input_kind", "tabular"), "rows": self.reader.expects,
                **self.reader.describe()}
        if self.predictor.task_impl.has_probabilities:
            info["classes"] = [_plain(c) for c in self.predictor.classes_]
        return info

    def predict(self, payload: Any) -> dict:
        """Predictions for ``{"rows": [...]}``; raises :class:`RequestError` naming the bad field."""
        data = self.read_rows(payload)
        with self.lock:
            predictions = self.predictor.predict(data)
            answer: dict[str, Any] = {"predictions": [_plain(v) if np.ndim(v) == 0 else [_plain(x) for x in v] for v in predictions]}
            if self.predictor.task_impl.has_probabilities:
                probabilities = self.predictor.predict_proba(data)
                classes = [str(c) for c in self.predictor.classes_]
                answer["probabilities"] = [dict(zip(classes, map(float, row))) for row in probabilities]
        return answer

    def read_rows(self, payload: Any):
        """The request's rows as the data ``Predictor.predict`` takes, validated by the input kind's reader."""
        if not isinstance(payload, dict) or "rows" not in payload:
            raise RequestError(HTTPStatus.BAD_REQUEST, 'the body must be a JSON object {"rows": [...]}', "rows")
        rows = payload["rows"]
        if not isinstance(rows, list) or not rows:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"rows must be {self.reader.expects}", "rows")
        if len(rows) > self.max_rows:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {self.max_rows} rows per request", "rows")
        return self.reader.read(rows)


def make_server(predictor, host: str = "127.0.0.1", port: int = 8000, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                max_rows: int = DEFAULT_MAX_ROWS) -> ThreadingHTTPServer:
    """An HTTP server for ``predictor``, bound but not yet serving (call ``serve_forever``)."""
    service = PredictionService(predictor, max_rows)

    class Handler(BaseHTTPRequestHandler):
        """Routes ``GET /health`` and ``POST /predict`` to the service; every answer is JSON."""

        server_version = "automl-serve"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.split("?")[0] == "/health":
                self._answer(HTTPStatus.OK, service.health())
            elif self.path.split("?")[0] == "/predict":
                self._error(RequestError(HTTPStatus.METHOD_NOT_ALLOWED, "use POST for /predict", "method"))
            else:
                self._error(RequestError(HTTPStatus.NOT_FOUND, f"no endpoint {self.path[:100]}; use GET /health or POST /predict", "path"))

        def do_POST(self) -> None:  # noqa: N802
            try:
                if self.path.split("?")[0] == "/health":
                    raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, "use GET for /health", "method")
                if self.path.split("?")[0] != "/predict":
                    raise RequestError(HTTPStatus.NOT_FOUND, f"no endpoint {self.path[:100]}; use POST /predict", "path")
                self._answer(HTTPStatus.OK, service.predict(self._json_body()))
            except RequestError as exc:
                self._error(exc)
            except Exception as exc:  # a bug or a value the preprocessing rejects: answer, keep serving
                from automl.errors import AutoMLError

                if isinstance(exc, AutoMLError):
                    self._error(RequestError(HTTPStatus.BAD_REQUEST, exc.one_line(), "rows"))
                else:
                    self.log_error("prediction failed: %r", exc)
                    self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"prediction failed: {type(exc).__name__}"})

        def _json_body(self) -> Any:
            length = self.headers.get("Content-Length")
            if length is None:
                raise RequestError(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length header", "Content-Length")
            try:
                size = int(length)
            except ValueError:
                raise RequestError(HTTPStatus.BAD_REQUEST, "Content-Length must be an integer", "Content-Length") from None
            if size > max_body_bytes:
                self.close_connection = True  # the unread body must not be parsed as a next request
                raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is {size} bytes, the limit is {max_body_bytes}", "body")
            content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
            body = self.rfile.read(size)
            if content_type != "application/json":
                raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type is {content_type}, expected application/json", "Content-Type")
            try:
                return json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RequestError(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {exc}", "body") from None

        def _error(self, exc: RequestError) -> None:
            self._answer(exc.status, {"error": exc.message, "field": exc.field})

        def _answer(self, status: HTTPStatus, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
            if not getattr(self.server, "quiet", False):
                super().log_message(format, *args)

    return ThreadingHTTPServer((host, port), Handler)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
