"""The bucket layout: contiguous, exact below 128 ns, width <= 1/64 of any value in the bucket."""

import numpy as np
import pytest

from hftshm.latency import buckets as B


def test_buckets_tile_zero_to_max_value():
    lo, w = B.lows(), B.widths()
    assert lo[0] == 0 and len(lo) == B.BUCKETS == 2048
    assert (lo[1:] == lo[:-1] + w[:-1]).all()
    assert lo[-1] + w[-1] - 1 == B.MAX_VALUE == 2**37 - 1
    assert B.MAX_VALUE > 60 * 10**9  # covers a minute


def test_exact_below_128():
    for v in range(128):
        assert B.bucket_of(v) == v and B.bucket_low(v) == v and B.bucket_width(v) == 1


def test_relative_width_bound():
    lo, w = B.lows(), B.widths()
    assert (w[128:] * 64 <= lo[128:]).all()  # width <= 1/64 of the bucket's smallest value
    assert ((w - 1) / 2 <= np.maximum(lo, 1) / 128).all()  # midpoint error <= 1/128


@pytest.mark.parametrize("k", range(1, 37))
def test_powers_of_two_and_neighbours(k):
    for v in (2**k - 1, 2**k, 2**k + 1):
        b = B.bucket_of(v)
        assert B.bucket_low(b) <= v < B.bucket_low(b) + B.bucket_width(b)
    if k >= 7:
        assert B.bucket_low(B.bucket_of(2**k)) == 2**k  # each octave starts a bucket


def test_random_values_land_in_their_bucket():
    rng = np.random.default_rng(1)
    lo, w = B.lows(), B.widths()
    for v in rng.integers(0, B.MAX_VALUE + 1, 20_000).tolist():
        b = B.bucket_of(v)
        assert lo[b] <= v < lo[b] + w[b]


def test_values_above_range_go_to_the_last_bucket():
    assert B.bucket_of(B.MAX_VALUE) == B.BUCKETS - 1
    assert B.bucket_of(B.MAX_VALUE + 1) == B.BUCKETS - 1
    assert B.bucket_of(2**62) == B.BUCKETS - 1
