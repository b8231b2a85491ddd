"""The workers' shared pool (in memory and on Redis): counters add up across workers and are
taken once, snapshots per worker, one leader per interval."""
from __future__ import annotations

import secrets
import time

import pytest

from portal.realtime.pool import LocalPool, RedisPool


@pytest.fixture(params=["local", "redis"])
def workers(request):
    """Two workers' views of one pool."""
    if request.param == "local":
        pool = LocalPool()
        return pool, pool
    url = request.getfixturevalue("redis_url")
    prefix = f"test-pool:{secrets.token_hex(4)}:"
    return RedisPool(url, prefix=prefix), RedisPool(url, prefix=prefix)


def test_counters_add_up_across_workers_and_drain_once(workers):
    a, b = workers
    a.add("reactions:1", {"clap": 2, "love": 1})
    b.add("reactions:1", {"clap": 3})
    b.add("reactions:2", {"wow": 1})
    assert a.drain("reactions:1") == {"clap": 5, "love": 1}
    assert b.drain("reactions:1") == {}
    assert a.drain("reactions:2") == {"wow": 1}


def test_snapshots_per_worker(workers):
    a, b = workers
    a.put("health:1", "worker-a", "1")
    b.put("health:1", "worker-b", "2")
    a.put("health:1", "worker-a", "3")
    assert b.members("health:1") == {"worker-a": "3", "worker-b": "2"}
    assert a.members("health:2") == {}


def test_one_leader_per_interval(workers):
    a, b = workers
    assert a.lead("health:1", ms=300) is True
    assert b.lead("health:1", ms=300) is False
    assert a.lead("health:1", ms=300) is False
    assert b.lead("health:2", ms=300) is True  # another key, another lock
    time.sleep(0.35)
    assert b.lead("health:1", ms=300) is True


def test_an_unreachable_redis_does_nothing_and_raises_nothing():
    pool = RedisPool("redis://127.0.0.1:1/0")
    pool.add("reactions:1", {"clap": 1})
    pool.put("health:1", "w", "1")
    assert pool.drain("reactions:1") == {} and pool.members("health:1") == {}
    assert pool.lead("health:1", ms=1000) is False
