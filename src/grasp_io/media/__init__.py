"""Media for multimodal prompts: record values → bytes, MIME type and ``data:`` URLs.

Reached by node types through the ``grasp.media`` entry point (``media_resolver``), so
``grasp_nodes`` does not import ``grasp_io``.
"""

from grasp_io.media._fetch import DEFAULT_CACHE_BYTES, FetchLimits, RemoteFetcher, redact_url
from grasp_io.media._media import AUDIO_FORMATS, Media, normalize_mime
from grasp_io.media._resolver import MediaResolver, media_resolver
from grasp_io.media._sniff import sniff

__all__ = [
    "AUDIO_FORMATS",
    "DEFAULT_CACHE_BYTES",
    "FetchLimits",
    "Media",
    "MediaResolver",
    "RemoteFetcher",
    "media_resolver",
    "normalize_mime",
    "redact_url",
    "sniff",
]
