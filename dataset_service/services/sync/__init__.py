"""Synchronize Data Source: make the dataset's samples match the images under its input path.

One pass over the listing, page by page (read ahead by `listing`: a thread, then a helper
process for long listings):

1. each page's keys are recorded in `sync_listed`, and its images are compared in bulk, by key,
   with the samples stored under the same keys: new images are inserted, images whose ETag or
   size changed are updated (their size forgotten), and the page's transaction commits (a
   dataset's first sync has nothing to compare with: its pages are inserted without lookups);
2. a sibling XML that differs from the one we last wrote or imported (`xml_etag`) is fetched and
   parsed concurrently (`object_reads`) and imported in batches: objects, labels (unknown ones
   created with distinct colours), attribution, and the image size from the XML's `<size>`. An
   XML is matched with its image(s) when it is listed (the image was listed before it: a folder's
   files come in name order and "stem.jpg" < "stem.xml"); should a store list an XML first, the
   image finds it in `sync_listed` when it comes;
3. once the listing ends, the samples it did not list are deleted with one anti-join against
   `sync_listed`; the stage "importing" waits for the last imports;
4. stage "reading image sizes": the samples whose width is still unknown are read with ranged
   GETs of their first bytes, concurrently, and stored in batches.

Nothing depends on the order of the listing: S3 lists in byte order, SeaweedFS lists a folder
before siblings such as "cats.jpg" next to "cats/", and both are synchronized exactly.
Memory stays bounded by a page plus a fixed number of reads in flight. A malformed XML or an
undecodable image sets the sample's `error` and a job error, and the sync goes on; an object
store that stops answering fails the job before anything is deleted, and running it again
finishes the work: every step is keyed by (dataset, key), so nothing is duplicated or lost.

Modules: `planning` (what a page changes; which XML is (re-)imported), `run` (the run loop and
its stages), `xml_import` (fetching, parsing and writing sibling XML), `sizes` (reading image
sizes), `pipeline` (transactions, the writer thread, reads in flight); the bulk row writes are
`services.bulk`.
"""
from __future__ import annotations

from .run import run_sync

__all__ = ["run_sync"]
