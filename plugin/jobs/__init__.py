"""Background jobs: the handler of each kind, run by the worker (plugin/worker.py) outside any transaction."""
