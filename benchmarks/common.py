"""Helpers shared by the benchmark scripts."""

import time


def timed(function, *args):
    """(function(*args), seconds it took)."""
    started = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - started
