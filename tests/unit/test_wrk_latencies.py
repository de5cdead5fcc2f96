"""halblab.wrk's per-request latencies: wrk 4 corrects its histogram for
coordinated omission before a script sees it; the benchmark undoes that to
report what each request measured. The correction below is the one wrk's
stats.c applies (stats_correct), written from its description."""

import collections
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lab"))

from halblab import wrk


def wrk_correct(raw, expected):
    """Every latency n >= 2 * expected also counts at n - expected, n - 2 *
    expected, ... while above expected."""
    corrected = dict(raw)
    for n in sorted(raw):
        if n < 2 * expected:
            continue
        m = n - expected
        while m > expected:
            corrected[m] = corrected.get(m, 0) + raw[n]
            m -= expected
    return corrected


def test_the_correction_is_undone_exactly():
    rng = random.Random(7)  # noqa: S311 - a fixed sample, not a secret
    # Mostly a few hundred microseconds, 1 % at 50-55 ms.
    draws = (
        int(rng.lognormvariate(6.5, 0.6)) if rng.random() > 0.01 else rng.randint(50000, 55000)
        for sample in range(20000)
    )
    raw = dict(collections.Counter(draws))
    for expected in (1, 250, 1000, 7000):
        assert wrk.per_request(wrk_correct(raw, expected), expected) == raw


def test_a_few_slow_answers_set_wrk_s_p99_but_not_the_requests_p99():
    # 10,000 answers in 1 ms and 20 in 55 ms over 10 s on 1 connection.
    raw = {1000: 10000, 55000: 20}
    corrected = wrk_correct(raw, 1000)
    assert wrk.percentile_ms(raw, 99) == 1.0
    assert wrk.percentile_ms(corrected, 99) > 40


def test_percentiles_rank_as_wrk_does():
    histogram = {us: 1 for us in range(1000, 101000, 1000)}  # 1 ms .. 100 ms
    assert wrk.percentile_ms(histogram, 50) == 51.0
    assert wrk.percentile_ms(histogram, 99) == 100.0
    assert wrk.percentile_ms(histogram, 100) == 100.0


def test_a_histogram_wrk_did_not_correct_that_way_is_refused():
    with pytest.raises(ValueError, match="not a histogram wrk corrected"):
        wrk.per_request({1500: 1, 2500: 5}, 1000)


def test_latencies_reads_what_the_wrk_script_prints():
    # 4,000 requests on 4 connections in 10 s: wrk's interval is 10 ms.
    corrected = wrk_correct({500: 3990, 60000: 10}, 10000)
    lines = ["halb-latency %d %d" % item for item in sorted(corrected.items())]
    out = "\n".join(lines + ["halb-run 10000000 4000"])
    figures = wrk.latencies(out, 4)
    assert figures["p99_ms"] == 0.5
    assert figures["wrk_p99_ms"] > figures["p99_ms"]
