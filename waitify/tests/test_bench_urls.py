"""The benchmark's reference views live in bench/, mounted only by its own settings."""

import pytest
from django.urls import Resolver404, resolve

from bench import views


def test_the_product_mounts_no_benchmark_view():
    with pytest.raises(Resolver404):
        resolve("/bench/trivial")


def test_the_benchmark_settings_are_the_apps_with_the_reference_views_added():
    from bench import settings as bench_settings
    from waitify import settings as app_settings

    assert bench_settings.ROOT_URLCONF == "bench.urls"
    assert bench_settings.INSTALLED_APPS == app_settings.INSTALLED_APPS
    assert bench_settings.MIDDLEWARE == app_settings.MIDDLEWARE
    assert resolve("/bench/trivial", urlconf="bench.urls").func is views.trivial
    assert resolve("/bench/insert", urlconf="bench.urls").func is views.single_insert
    assert resolve("/health", urlconf="bench.urls").url_name == "health"
