"""Benchmarks of render speed, whole jobs and the service; run them with `make bench`.

Every figure is a ratio of two timings taken in the same run, because absolute times
drift on shared machines. See bench/README.md for the method and the recorded results.
"""
