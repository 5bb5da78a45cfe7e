"""Media values of every kind become bytes with the right MIME type, or fail the record."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import soundfile
from PIL import Image

from grasp_core.errors import RecordError
from grasp_io.media import Media, MediaResolver, RemoteFetcher
from tests.media_helpers import MediaHttpServer, audio_bytes, jpeg_bytes, png_bytes, tone

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
