"""``python -m automl`` is the ``automl`` command."""

from automl.cli import main

raise SystemExit(main())
