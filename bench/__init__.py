"""Benchmarks of issue 6: `python -m bench` / `make bench`; results in bench/results.md."""
