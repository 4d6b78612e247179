"""Benchmarks: run them all with ``make bench``, which rewrites docs/benchmarks.md. See bench/README.md."""
