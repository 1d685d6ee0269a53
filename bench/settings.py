"""Settings for bench/lookup.py only: the project's settings plus a URLConf with the bare baseline endpoint."""

from jukinet.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
