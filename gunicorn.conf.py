"""gunicorn settings read from the working directory (the Procfile's `web:` runs from here)."""

import gc


def post_worker_init(worker):
    """Freeze what the app loaded at start-up out of the garbage collector's sight.

    The app keeps ~100,000 long-lived objects (ISO code tables, schemas, mappers); without this every
    full collection walks them all, which cost about 20% of the quote endpoint's throughput.
    """
    gc.freeze()
