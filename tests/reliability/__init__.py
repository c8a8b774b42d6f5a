"""Reliability under faults: crash safety, injected faults, abort storms, shutdown and soak."""
