"""The quality benchmark's parts: photographs fetched from package registries, real third-party
tools that damage them, the cases with their ground truth, the figures and the contact sheets.

Lives beside ``bench_quality.py`` (imported relative to it), uses from ``regrain`` only its
public API and the existing ``regrain._quality`` figures, so that the benchmark judges any tree's
``restore``: ``cd OTHER_TREE && .venv/bin/python /path/to/benchmarks/bench_quality.py``.
"""
