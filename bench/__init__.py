"""Benchmarks: the seed page's pipeline, a plain floor loader and this project, side by side.

Run `python -m bench.run --help`; see bench/README.md.
"""
