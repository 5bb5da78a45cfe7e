"""Media values of every kind become bytes with the right MIME type, or fail the record."""

from __future__ import annotations

import base64
import io
import os
import threading
from collections.abc import Awaitable, Iterator
from pathlib import Path

import anyio
import pytest
import soundfile
from PIL import Image

from grasp_core.errors import RecordError
from grasp_io.media import Media, MediaResolver, RemoteFetcher, redact_url, sniff
from tests.media_helpers import (
    MediaHttpServer,
    audio_bytes,
    bomb_png,
    jpeg_bytes,
    png_bytes,
    tone,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Media resolution runs under both event loops the engine supports."""
    backend: str = request.param
    return backend


@pytest.fixture
def server() -> Iterator[MediaHttpServer]:
    routes = {"/cat.png": png_bytes(), "/tone.wav": audio_bytes(), "/junk.bin": b"not media"}
    with MediaHttpServer(routes, slow_seconds=0.4).running() as running:
        yield running


@pytest.fixture
def resolver(tmp_path: Path) -> MediaResolver:
    return MediaResolver(tmp_path, RemoteFetcher())


async def test_pil_image_is_encoded_as_png(resolver: MediaResolver) -> None:
    """A Pillow image built in memory is sent as PNG that decodes to the same pixels."""
    image = Image.new("RGB", (4, 3), (1, 2, 3))
    media = await resolver.resolve(image)
    assert media.mime == "image/png"
    with Image.open(io.BytesIO(media.data)) as decoded:
        assert decoded.size == (4, 3)
        assert decoded.getpixel((0, 0)) == (1, 2, 3)


async def test_pil_image_loaded_from_jpeg_stays_jpeg(resolver: MediaResolver) -> None:
    """An image opened from a JPEG keeps its format."""
    image = Image.open(io.BytesIO(jpeg_bytes()))
    media = await resolver.resolve(image)
    assert media.mime == "image/jpeg"


async def test_hf_image_dict_uses_its_bytes(resolver: MediaResolver) -> None:
    """A Hugging Face Image value `{bytes, path}` sends its bytes, typed from the bytes."""
    media = await resolver.resolve({"bytes": jpeg_bytes(), "path": "ignored.png"})
    assert media.mime == "image/jpeg"
    assert media.data == jpeg_bytes()


async def test_hf_dict_without_bytes_reads_its_path(
    resolver: MediaResolver, tmp_path: Path
) -> None:
    """`{bytes: None, path}` reads the file at the path, relative to the task folder."""
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(png_bytes())
    media = await resolver.resolve({"bytes": None, "path": "img/a.png"})
    assert (media.mime, media.data) == ("image/png", png_bytes())


async def test_decoded_audio_is_encoded_as_wav(resolver: MediaResolver) -> None:
    """Decoded audio `{array, sampling_rate}` is sent as 16-bit WAV at the same rate."""
    samples = tone(seconds=0.05, rate=16000)
    media = await resolver.resolve({"array": samples, "sampling_rate": 16000, "path": None})
    assert media.mime == "audio/wav"
    decoded, rate = soundfile.read(io.BytesIO(media.data))
    assert rate == 16000
    assert len(decoded) == len(samples)
    assert abs(float(decoded[10]) - float(samples[10])) < 1e-3


async def test_raw_bytes_are_sniffed(resolver: MediaResolver) -> None:
    """Raw bytes get their MIME type from their content: PNG, JPEG, WAV, FLAC."""
    assert (await resolver.resolve(png_bytes())).mime == "image/png"
    assert (await resolver.resolve(jpeg_bytes())).mime == "image/jpeg"
    assert (await resolver.resolve(audio_bytes("WAV"))).mime == "audio/wav"
    assert (await resolver.resolve(bytearray(audio_bytes("FLAC")))).mime == "audio/flac"


async def test_path_relative_to_task_folder(resolver: MediaResolver, tmp_path: Path) -> None:
    """A string or Path names a file relative to the task folder."""
    (tmp_path / "t.wav").write_bytes(audio_bytes())
    assert (await resolver.resolve("t.wav")).mime == "audio/wav"
    assert (await resolver.resolve(Path("t.wav"))).data == audio_bytes()


async def test_data_url_passes_through(resolver: MediaResolver) -> None:
    """A data: URL is decoded as given, its MIME type normalised."""
    url = "data:audio/x-wav;base64," + base64.b64encode(audio_bytes()).decode()
    media = await resolver.resolve(url)
    assert (media.mime, media.data) == ("audio/wav", audio_bytes())
    assert media.data_url() == "data:audio/wav;base64," + url.split(",", 1)[1]


async def test_http_url_is_fetched(resolver: MediaResolver, server: MediaHttpServer) -> None:
    """An http URL is downloaded and typed from its bytes (not its octet-stream header)."""
    media = await resolver.resolve(server.url + "/cat.png")
    assert (media.mime, media.data) == ("image/png", png_bytes())


async def test_same_url_is_fetched_once_per_run(
    resolver: MediaResolver, server: MediaHttpServer
) -> None:
    """Many records naming one URL, at once or later, cause one download."""
    url = server.url + "/slow/tone.wav"
    results: list[Media] = []

    async def one() -> None:
        results.append(await resolver.resolve(url))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)
    results.append(await resolver.resolve(url))
    assert server.hits["/slow/tone.wav"] == 1
    assert resolver.fetcher.downloads == 1
    assert {m.mime for m in results} == {"audio/wav"}


async def test_waiters_share_a_download_too_big_to_cache(
    tmp_path: Path, server: MediaHttpServer
) -> None:
    """Records waiting on a download get its bytes even when the cache cannot keep them."""
    resolver = MediaResolver(tmp_path, RemoteFetcher(cache_bytes=10))
    results: list[Media] = []

    async def one() -> None:
        results.append(await resolver.resolve(server.url + "/slow/cat.png"))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(one)
    await resolver.fetcher.aclose()
    assert [m.data for m in results] == [png_bytes()] * 3
    assert server.hits["/slow/cat.png"] == 1


async def test_waiters_share_a_failed_download_without_its_query(
    resolver: MediaResolver, server: MediaHttpServer
) -> None:
    """A failed download fails every record waiting for it with the same redacted reason
    (one request, no KeyError, no query string); a later record tries again."""
    url = server.url + "/slow/missing.png?X-Amz-Signature=SECRET123"
    reasons: list[str] = []

    async def one() -> None:
        with pytest.raises(RecordError) as caught:
            await resolver.resolve(url)
        reasons.append(str(caught.value))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(one)
    assert len(reasons) == 3
    assert all("HTTP 404" in r and "missing.png?..." in r for r in reasons)
    assert not any("SECRET123" in r for r in reasons)
    assert server.hits["/slow/missing.png"] == 1
    with pytest.raises(RecordError, match="HTTP 404"):
        await resolver.resolve(url)
    assert server.hits["/slow/missing.png"] == 2


async def test_waiter_downloads_again_when_the_first_download_is_cancelled_or_differs(
    resolver: MediaResolver, server: MediaHttpServer
) -> None:
    """A waiter whose download was cancelled, or failed under other limits (a smaller
    max_bytes), downloads for itself instead of sharing a failure that is not its own.

    The server holds the first download until the waiter is waiting for it, so the order
    of events is fixed whatever the machine's load."""
    url = server.url + "/slow/cat.png"
    got: list[Media] = []
    for cancelled in (True, False):
        await resolver.fetcher.aclose()
        server.gate = threading.Event()
        seen = server.hits["/slow/cat.png"]
        first = anyio.CancelScope()

        async with anyio.create_task_group() as group:
            group.start_soon(_first_download, resolver, url, first, cancelled)
            with anyio.fail_after(30):  # the first download reached the server
                # the server counts in its own thread: nothing to await but the count
                while server.hits["/slow/cat.png"] == seen:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            group.start_soon(_append, got, resolver.resolve(url))
            await anyio.wait_all_tasks_blocked()  # the waiter waits for that download
            if cancelled:
                first.cancel()
            server.gate.set()
        assert server.hits["/slow/cat.png"] == seen + 2
    assert [m.data for m in got] == [png_bytes()] * 2


async def _first_download(
    resolver: MediaResolver, url: str, scope: anyio.CancelScope, cancelled: bool
) -> None:
    """Download ``url`` inside ``scope`` (to be cancelled), or under a 10-byte limit."""
    with scope:
        if cancelled:
            await resolver.resolve(url)
        else:
            with pytest.raises(RecordError, match="over the media limit of 10 bytes"):
                await resolver.resolve(url, max_bytes=10)


async def _append(results: list[Media], pending: Awaitable[Media]) -> None:
    results.append(await pending)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com:99999/a.png", "its port is not a number from 0 to 65535"),
        ("http://user:SECRET@example.com:port/a.png?t=SECRET", "its port is not a number"),
        ("http://[::1/a.png", "its host is malformed"),
        ("https://u:SECRET@[bad/x?SECRET", "its host is malformed"),
    ],
)
async def test_unparsable_urls_fail_the_record_without_secrets(
    resolver: MediaResolver, url: str, reason: str
) -> None:
    """A bad port or [IPv6] host is a RecordError that shows no credentials or query."""
    with pytest.raises(RecordError, match=reason) as caught:
        await resolver.resolve(url)
    assert "SECRET" not in str(caught.value)
    with pytest.raises(RecordError, match=reason):
        redact_url(url)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
async def test_local_media_must_be_a_regular_file(
    resolver: MediaResolver, tmp_path: Path, special: str
) -> None:
    """A device or pipe named as media fails at once, without reading it (or waiting for
    a writer): reading /dev/zero would never end."""
    if special == "fifo":
        os.mkfifo(tmp_path / "fifo")
    with anyio.fail_after(5):
        with pytest.raises(RecordError, match="is not a regular file"):
            await resolver.resolve(special, max_bytes=1000)


async def test_local_file_over_the_limit_is_refused(
    resolver: MediaResolver, tmp_path: Path
) -> None:
    """A regular file over max_bytes fails the record, naming the limit."""
    (tmp_path / "big.png").write_bytes(png_bytes(size=64))
    with pytest.raises(RecordError, match="over the media limit of 50 bytes"):
        await resolver.resolve("big.png", max_bytes=50)


async def test_decompression_bomb_fails_the_record(resolver: MediaResolver) -> None:
    """An image header claiming more pixels than Pillow's limit is a RecordError with the
    reason, not Pillow's DecompressionBombError stopping the run."""
    with pytest.raises(RecordError, match=r"too large to decode safely.*decompression bomb"):
        await resolver.resolve({"bytes": bomb_png(), "path": "huge.png"})
    with pytest.raises(RecordError, match="decompression bomb"):
        sniff(bomb_png(), what="x")


async def test_too_large_download_stops_early(
    resolver: MediaResolver, server: MediaHttpServer
) -> None:
    """A body past max_bytes fails the record, even without a Content-Length."""
    with pytest.raises(RecordError, match="over the media limit of 10000 bytes"):
        await resolver.resolve(server.url + "/stream/10000000", max_bytes=10_000)
    with pytest.raises(RecordError, match="over the media limit"):
        await resolver.resolve(server.url + "/cat.png", max_bytes=10)


async def test_slow_download_times_out(resolver: MediaResolver, server: MediaHttpServer) -> None:
    """A download slower than fetch_timeout fails the record and says how to change it."""
    with pytest.raises(RecordError, match=r"longer than 0.1s.*media.fetch_timeout"):
        await resolver.resolve(server.url + "/slow/cat.png", fetch_timeout=0.1)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png"])
async def test_other_schemes_are_refused(resolver: MediaResolver, url: str) -> None:
    """Only http and https are fetched; file: and ftp: are refused by name."""
    with pytest.raises(RecordError, match="only http and https are fetched"):
        await resolver.resolve(url)


async def test_redirect_to_another_scheme_fails(
    resolver: MediaResolver, server: MediaHttpServer
) -> None:
    """A redirect to ftp: is not followed."""
    with pytest.raises(RecordError, match="download failed"):
        await resolver.resolve(server.url + "/redirect-ftp")


async def test_url_query_is_kept_out_of_errors(
    resolver: MediaResolver, server: MediaHttpServer
) -> None:
    """Errors name the URL without its query string (it may hold a token)."""
    with pytest.raises(RecordError) as caught:
        await resolver.resolve(server.url + "/missing.png?token=s3cr3t")
    assert "HTTP 404" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("nowhere.png", "does not exist"),
        (b"not media at all", "neither an image"),
        (b"", "is empty"),
        ("data:image/png;base64,!!!", "bad base64"),
        ({"path": None, "bytes": None}, "has no `bytes`, `path`"),
        ({"array": [0.1], "sampling_rate": 0}, "positive `sampling_rate`"),
        (3.5, "cannot send a builtins.float value as media"),
    ],
)
async def test_bad_values_fail_the_record(
    resolver: MediaResolver, value: object, reason: str
) -> None:
    """Missing files, undecodable bytes and unknown shapes are RecordErrors with a reason."""
    with pytest.raises(RecordError, match=reason):
        await resolver.resolve(value)


async def test_flac_converts_to_wav(resolver: MediaResolver) -> None:
    """FLAC audio converts to WAV (for OpenAI's input_audio, which takes wav or mp3)."""
    media = await resolver.resolve(audio_bytes("FLAC"))
    wav = media.as_wav()
    assert wav.mime == "audio/wav"
    decoded, rate = soundfile.read(io.BytesIO(wav.data))
    assert (rate, len(decoded)) == (8000, 800)


async def test_fetcher_closes_and_forgets(resolver: MediaResolver, server: MediaHttpServer) -> None:
    """aclose() releases the connection pool; a later fetch downloads again."""
    await resolver.resolve(server.url + "/cat.png")
    await resolver.fetcher.aclose()
    await resolver.resolve(server.url + "/cat.png")
    assert server.hits["/cat.png"] == 2
    await resolver.fetcher.aclose()
