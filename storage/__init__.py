"""Bytes in object storage: stores, object URIs, sibling paths and the annotation XML codec.

Import the modules you need (`storage.objects`, `storage.s3`, `storage.annotations`, ...);
this package imports nothing heavy on its own.
"""
