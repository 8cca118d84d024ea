"""Thin adapters of the worker to its peers' protocols (Label Studio's ML backend, CVAT's interactor):
each turns the peer's request into the worker's own prompt and its answer into the peer's shape."""
