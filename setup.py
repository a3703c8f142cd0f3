"""Packages are found, not listed: every subpackage of ``automl`` ships in the wheel.

Everything else (metadata, dependencies, entry points, the ``plugins/`` and ``search_spaces/``
folders mapped to ``automl_plugins`` / ``automl_search_spaces``) lives in pyproject.toml;
setuptools merges the two. The mapped folders are named here because ``find_packages`` cannot
discover a package whose import name differs from its folder's.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["automl", "automl.*"]) + ["automl_plugins", "automl_search_spaces"])
