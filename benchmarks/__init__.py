"""Benchmarks of the sessions rule against hand-written floors (issue 4): `python -m benchmarks`.

Each figure is measured in databases of its own, created on the server and dropped afterwards, and
reported as a ratio against its floor (the same rows written by hand, without the project's
triggers) or its budget. See docs/benchmarks.md for the figures and how to read them.
"""
