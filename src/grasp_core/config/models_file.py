"""The models file's entries: the pydantic model of one model (route, endpoint, key
source, limits, parameters, price). :class:`~grasp_core.models.catalog.ModelCatalog` reads
the file into these."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from grasp_core.config._base import StrictModel
from grasp_core.config.parameters import ModelParameters
from grasp_core.errors import ConfigError

__all__ = [
    "PROVIDER_KEY_ENV",
    "BatchOptions",
    "CacheMode",
    "CacheSettings",
    "ModelCost",
    "ModelSpec",
    "ReplyAction",
]

ReplyAction = Literal["keep", "fail", "retry"]
"""What a call does with a reply that is cut off or empty: write it (flagged), fail the
record, or ask again (within the retry budget, then fail)."""

CacheMode = Literal["record", "content", "off"]
"""How the response cache files a call: ``record`` (the request and the call's place in its
record: the default), ``content`` (the request alone, shared by every record), ``off``."""

PROVIDER_KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "azure": "AZURE_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "hosted_vllm": "HOSTED_VLLM_API_KEY",
}
"""Where a key is looked up when an entry names no ``api_key_env`` (litellm's convention)."""


class CacheSettings(StrictModel):
    """The models file's top-level `cache:` block (not a model): the response cache of every
    run that uses this models file. `--cache-dir` and `--cache-max-mb` win over it."""

    dir: str | None = None
    """The response cache's folder (`~` expanded; relative to the models file's folder).
    Default: `$XDG_CACHE_HOME/grasp/responses`, else `~/.cache/grasp/responses`."""
    max_mb: int | None = Field(default=None, ge=1)
    """The cache's size limit in MiB (default 2048): beyond it, the next run to open it
    drops the oldest replies down to three quarters of it."""


class ModelCost(StrictModel):
    """A model's price: dollars per million tokens, and for media models per image, per
    character spoken or per second of audio."""

    input_per_million: float = Field(default=0.0, ge=0)
    """Dollars per million prompt (input) tokens."""
    output_per_million: float = Field(default=0.0, ge=0)
    """Dollars per million completion (output) tokens."""
    per_image: float | dict[str, float] | None = None
    """Dollars per image made: one price, or prices by `QUALITY/SIZE`, `SIZE` or `QUALITY`
    (`high/1024x1024`, `1024x1024`, `low`), with `default` for the rest."""
    per_character: float | None = Field(default=None, ge=0)
    """Dollars per character of text spoken (text-to-speech)."""
    per_second: float | None = Field(default=None, ge=0)
    """Dollars per second of audio spoken (text-to-speech) or transcribed."""

    @model_validator(mode="after")
    def _some_price(self) -> ModelCost:
        given = self.model_fields_set
        if not given:
            raise ValueError(
                "give a price: `input_per_million` and `output_per_million`, or for media "
                "models `per_image`, `per_character` or `per_second`"
            )
        prices = self.per_image.values() if isinstance(self.per_image, dict) else [self.per_image]
        if any(price is not None and price < 0 for price in prices):
            raise ValueError(f"`per_image` prices must be 0 or more, got {self.per_image!r}")
        return self


class BatchOptions(StrictModel):
    """How a batched model's requests are gathered into provider batches (`batch: true`
    takes every default)."""

    max_requests: int = Field(default=10_000, ge=1, strict=True)
    """Most requests in one batch (OpenAI allows 50,000); records parked for this model
    take memory (about 20 KB each), and the run keeps about twice this many admitted."""
    max_bytes: int = Field(default=200 * 1024 * 1024, ge=1024, strict=True)
    """Most bytes of JSONL in one batch file (OpenAI's limit is 200 MB)."""
    max_wait: float = Field(default=60.0, ge=0, allow_inf_nan=False)
    """Seconds the first request of a batch waits for others before a partial batch is
    submitted."""
    poll_interval: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Seconds between polls of a batch; unset: about a second at first, backing off
    toward a minute."""
    completion_window: str = Field(default="24h", pattern=r"^[1-9][0-9]*h$")
    """The provider's deadline for a batch (`24h` on OpenAI and Azure)."""
    max_resubmits: int = Field(default=2, ge=0, strict=True)
    """Times a request is submitted again after its batch failed or expired, or after it
    failed inside a completed batch; then its record fails with the reason."""


class ModelSpec(StrictModel):
    """One model entry of the models file."""

    model: str
    """The litellm route: `openai/gpt-4o`, `hosted_vllm/…`, `azure/…`, `ollama_chat/…`."""
    api_base: str | None = None
    """Base URL of the endpoint (`http://host:8000/v1`)."""
    api_key_env: str | None = None
    """Name of the environment variable that holds the API key (never the key itself)."""
    api_key_file: str | None = None
    """A file holding the API key (relative to the models file), kept outside the task."""
    api_version: str | None = None
    """Azure API version."""
    max_concurrency: int = Field(default=16, ge=1)
    """Most requests in flight to this backend, shared by every node and record."""
    parameters: ModelParameters = Field(default_factory=dict)
    """Default request parameters; a node's own `parameters` override them. Known OpenAI
    parameters are checked by type and range; others are sent as they are."""
    timeout: float = Field(default=120.0, gt=0)
    """Seconds one request may take before it is abandoned and retried."""
    max_retries: int = Field(default=5, ge=0)
    """Retries on 429, 5xx, timeouts and dropped connections (exponential backoff, jitter)."""
    on_truncated: ReplyAction = "fail"
    """A reply cut off by `max_tokens` (`finish_reason: length`): `fail` the record (a cut
    answer is a bad training row), `retry` it within `max_retries` then fail, or `keep` it
    (written, and flagged under the record's `reply_flags`). A node's `on_truncated` wins."""
    on_empty: ReplyAction = "retry"
    """A reply with no text and no tool calls (often a passing server hiccup): `retry` it
    within `max_retries` then fail the record, `fail` at once, or `keep` it (flagged under
    `reply_flags`). A node's `on_empty` wins."""
    backend: str | None = None
    """Backend name; entries with the same backend share one concurrency limit."""
    rpm: float | None = Field(default=None, gt=0)
    """Requests per minute this backend allows; requests wait for budget rather than fail."""
    tpm: float | None = Field(default=None, gt=0)
    """Tokens per minute (prompt estimate + max_tokens, corrected by the reply's usage)."""
    adaptive: bool = True
    """Halve the backend's concurrency on 429s and grow it back on success (AIMD)."""
    transport: Literal["auto", "litellm"] = "auto"
    """`litellm` forces the litellm transport; `auto` lets GraSP pick."""
    schema_mode: Literal["auto", "json_schema", "json_object", "tool", "prompt"] = "auto"
    """How `structured_output` sends its JSON schema to this model: `json_schema`
    (`response_format: {type: json_schema, ...}`), `json_object` (`{type: json_object,
    schema: ...}`, as llama.cpp's server takes it), `tool` (one forced function call whose
    arguments are the object), `prompt` (the schema in the prompt). `auto`: `json_schema`
    on openai, azure, hosted_vllm, mistral and ollama routes, else `prompt`."""
    cost: ModelCost | None = None
    """Price of this model in dollars per million tokens; overrides litellm's price table
    (and prices routes the table does not know, such as your own vLLM server)."""
    output_type: Literal["text", "image", "audio"] | None = None
    """SyGra's spelling of a media model: an `llm` node calling this model makes an `image`
    (generation, or an edit of the prompt's images) or `audio` (speech of the prompt's
    text) instead of text. GraSP's `image` and `speech` node types say it by their type."""
    input_type: Literal["text", "audio"] | None = None
    """SyGra's spelling of a speech-to-text model: with `audio`, an `llm` node calling this
    model transcribes the prompt's audio (GraSP's `transcribe` node type)."""
    price_as: str | None = None
    """A litellm route whose price in litellm's table applies to this model (a renamed or
    proxied model); `cost` wins over it. `--mock` keeps the real route's price this way."""
    cache: CacheMode = "record"
    """How the response cache files this model's calls: `record` (the request and the
    call's place in its record), `content` (the request alone: for deterministic calls any
    record may share), `off` (never cached). A node's `model.cache` wins."""

    batch: BatchOptions | None = None
    """Send this model's requests through the provider's batch API (about half price,
    answered within the `completion_window`): `true`, or options. Records wait at the
    node while their request is in a batch; other nodes keep running live."""

    @field_validator("batch", mode="before")
    @classmethod
    def _batch_flag(cls, value: object) -> object:
        if value is True:
            return {}
        if value is False or value is None or isinstance(value, dict | BatchOptions):
            return None if value is False else value
        raise ValueError("give `true`, `false` or a mapping of batch options")

    @field_validator("model")
    @classmethod
    def _route(cls, value: str) -> str:
        if "/" not in value:
            raise ValueError(
                f"model route {value!r} needs a provider prefix, such as "
                f"'openai/{value}' or 'hosted_vllm/{value}'"
            )
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> ModelSpec:
        if self.api_key_env is not None and self.api_key_file is not None:
            raise ValueError("give api_key_env or api_key_file, not both")
        return self

    @property
    def provider(self) -> str:
        """The route's provider prefix (`openai`, `azure`, `ollama_chat`...)."""
        return self.model.split("/", 1)[0]

    def api_key(self, base_dir: Path | None = None, task_dir: Path | None = None) -> str | None:
        """The key from ``api_key_env`` (an unset variable is an error naming it), or from
        ``api_key_file``, else from the provider's conventional variable
        (``OPENAI_API_KEY``...), else ``None``. Errors name where the key was looked for,
        never the key."""
        if self.api_key_file is not None:
            return _read_key_file(self.api_key_file, base_dir, task_dir, self.model)
        if self.api_key_env is None:
            conventional = PROVIDER_KEY_ENV.get(self.provider)
            return os.environ.get(conventional) if conventional else None
        value = os.environ.get(self.api_key_env)
        if value is None:
            raise ConfigError(
                f"environment variable {self.api_key_env!r} (api_key_env of model route "
                f"{self.model!r}) is not set; export it before running"
            )
        return value


def _read_key_file(name: str, base_dir: Path | None, task_dir: Path | None, route: str) -> str:
    path = Path(name) if Path(name).is_absolute() else (base_dir or Path.cwd()) / name
    path = path.resolve()
    if task_dir is not None and path.is_relative_to(task_dir.resolve()):
        raise ConfigError(
            f"api_key_file {str(path)!r} (model route {route!r}) is inside the task folder; "
            "keep secrets outside it, where they cannot be shared with the task by accident"
        )
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read api_key_file {str(path)!r} (model route {route!r}): {exc.strerror or exc}"
        ) from None
    if not key:
        raise ConfigError(f"api_key_file {str(path)!r} (model route {route!r}) is empty")
    return key
