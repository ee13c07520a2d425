"""Fixtures of the command-line tests, shared with the layers they drive."""

from tests.data_loaders.conftest import write  # noqa: F401 - ``write("name.csv", text)``
