"""Shared pytest options.

    pytest tests            the normal suite: property tests run a bounded number of examples
    pytest tests --long     long mode: the differential test runs >= 20,000 random
                            expressions, the tensor one (test_tensors.py) 5,000, the
                            fuzzers many more inputs (minutes to hours)

Tests marked `long` scale their example counts with --long (use the `long_mode` fixture);
tests marked `long_only` run only with --long.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", default=False,
                     help="long mode: >= 20,000 random expressions in the differential test, "
                          "long fuzzing runs")
    parser.addoption("--long-examples", type=int, default=None,
                     help="with --long: this many random expressions in the differential "
                          "test instead of 20,000 (and in the tensor one instead of 5,000)")


def pytest_configure(config):
    config.addinivalue_line("markers", "long: a property test whose example count grows "
                                       "with --long")
    config.addinivalue_line("markers", "long_only: runs only with --long")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="long mode only (pytest --long)")
    for item in items:
        if "long_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def long_examples(request) -> int | None:
    """--long-examples N, if given."""
    return request.config.getoption("--long-examples")


@pytest.fixture
def long_mode(request) -> bool:
    """True under --long."""
    return bool(request.config.getoption("--long"))
