"""The benchmark's settings: the app's own, plus the reference views of bench/urls.py.

`make bench` runs gunicorn with DJANGO_SETTINGS_MODULE=bench.settings; the product's
settings and URLs know nothing of the benchmark.
"""

from waitify.settings import *  # noqa: F403 - the app as deployed, one URLconf changed

ROOT_URLCONF = "bench.urls"
