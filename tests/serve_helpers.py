"""An in-process `automl serve` server and the requests the serve tests send it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager

from automl.predictor import load
from automl.serve import make_server


@contextmanager
def serving(artifact):
    """An in-process server for ``artifact`` on a free loopback port; yields its URL."""
    server = make_server(load(artifact), port=0)
    server.quiet = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://%s:%d" % server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()


def post(url: str, rows) -> tuple[int, dict]:
    request = urllib.request.Request(url + "/predict", data=json.dumps({"rows": rows}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def health(url: str) -> dict:
    with urllib.request.urlopen(url + "/health", timeout=30) as answer:
        return json.loads(answer.read())
