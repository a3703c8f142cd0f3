"""The plugin meets automl's plugin contract: copy this file into your own plugin's tests.

``check_plugin`` runs every check of ``automl.testing`` (each component builds for every task
and input kind it claims, output shapes, hard and soft targets, optimizer state, regularizer
hooks, space parsing) and fails naming each check that did not pass. The same checks run from
the shell with ``automl plugins check automl_example_plugin``.
"""

import pytest

import automl_example_plugin
from automl.testing import check_plugin, plugin_checks


def test_the_plugin_meets_the_automl_contract():
    check_plugin(automl_example_plugin)


@pytest.mark.parametrize("check", plugin_checks(automl_example_plugin), ids=str)
def test_contract_check(check):
    check()
