"""Use cases: each takes its collaborators as parameters and owns its transaction."""
