"""A few spawned processes for seeding and resets (Django's ORM is CPU-bound Python).

Kept free of Django imports: a spawned child unpickles its initializer before
Django is set up, so work is named by "module:function" and imported after.
"""

from __future__ import annotations

import importlib
import multiprocessing

POOL_SIZE = 3
_pool = None


def _child_setup() -> None:
    import django

    django.setup()


def _call(target: str, *args):
    module, _sep, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


def in_parallel(target: str, business_ids: list, *args) -> list:
    """`target(business_id, *args)` for each id, spread over the pool."""
    global _pool
    if _pool is None:
        from django.db import connections

        connections.close_all()
        _pool = multiprocessing.get_context("spawn").Pool(POOL_SIZE, initializer=_child_setup)
    return _pool.starmap(_call, [(target, business_id, *args) for business_id in business_ids])


def close() -> None:
    """Stop the workers, idle or not (an interrupted run leaves none behind)."""
    global _pool
    if _pool is not None:
        _pool.terminate()
        _pool.join()
        _pool = None
