"""Tests of the `research` command line, one module per command."""
