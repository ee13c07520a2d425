"""Tests of research.explore (mirrors research/explore/)."""
