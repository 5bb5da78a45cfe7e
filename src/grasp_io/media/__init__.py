"""Media for multimodal prompts (record values → bytes, MIME type and ``data:`` URLs) and
media that nodes make, stored as content-addressed files (``store``).

Reached by node types through the ``grasp.media`` entry points (``default``: the resolver,
``store``: the store), so ``grasp_nodes`` does not import ``grasp_io``.
"""

from grasp_io.media._fetch import DEFAULT_CACHE_BYTES, FetchLimits, RemoteFetcher, redact_url
from grasp_io.media._media import AUDIO_FORMATS, Media, normalize_mime
from grasp_io.media._resolver import MediaResolver, media_resolver
from grasp_io.media._sniff import sniff
from grasp_io.media.store import MediaStore, is_stored, media_store

__all__ = [
    "AUDIO_FORMATS",
    "DEFAULT_CACHE_BYTES",
    "FetchLimits",
    "Media",
    "MediaResolver",
    "MediaStore",
    "RemoteFetcher",
    "is_stored",
    "media_resolver",
    "media_store",
    "normalize_mime",
    "redact_url",
    "sniff",
]
