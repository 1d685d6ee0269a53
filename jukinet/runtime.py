"""Settings of a Celery worker process (intake, relay, housekeeping), applied once it has loaded.

gunicorn's workers only freeze their start-up objects (jukinet/gunicorn_conf.py): their requests are small, the
receipt's collections were measured negligible (one per 20,000 notices), and a larger young generation would
trade many short pauses for rarer long ones on the lookups' latency."""

from __future__ import annotations

import gc

# Net new container objects between two young-generation collections (CPython's default is 700). A processing
# batch of 2,000 notices makes and frees hundreds of thousands of dicts and rows. Seven such batches in one
# process after gc.freeze(), collections timed with gc.callbacks: at 700, about 270-300 young and 25 middle
# passes, 7-9 µs per notice (5 % of processing's Python); at 10,000, 16 young passes, 5 µs; at 50,000, none
# (docs/intake-measurements.md, "Seventh session"). Almost everything is freed by reference counting; the threshold only
# delays finding cycles, which stay few.
YOUNG_GENERATION_THRESHOLD = 50_000


def settle_collector() -> None:
    """Leave the loaded application's objects out of garbage collection, and collect the rest less often.

    gc.freeze(): the cyclic collector's full passes walked Django, the apps and their modules again and again (in
    intake's processing of 20,000 notices, four full passes took 0.27 s of 0.40 s in collections; 0.016 s after
    the freeze). Objects made later are collected as before, at YOUNG_GENERATION_THRESHOLD."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
