"""Rate limits behave the same on the in-process and the Redis backend."""
from __future__ import annotations

import uuid

import pytest

from portal.errors import RateLimited
from portal.ratelimit import MemoryBackend, RateLimiter, RedisBackend


@pytest.fixture(params=["memory", "redis"])
def limiter(request):
    if request.param == "memory":
        return RateLimiter(MemoryBackend())
    return RateLimiter(RedisBackend(request.getfixturevalue("redis_url")))


def test_allows_up_to_the_limit_then_refuses(limiter):
    key = f"test:{uuid.uuid4()}"
    for _ in range(3):
        limiter.hit(key, limit=3, window=3600, message="slow down")
    with pytest.raises(RateLimited) as refused:
        limiter.hit(key, limit=3, window=3600, message="slow down")
    assert refused.value.message == "slow down" and 0 < refused.value.retry_after <= 3600


def test_keys_are_independent(limiter):
    a, b = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"
    limiter.hit(a, limit=1, window=3600, message="x")
    limiter.hit(b, limit=1, window=3600, message="x")
    with pytest.raises(RateLimited):
        limiter.hit(a, limit=1, window=3600, message="x")
