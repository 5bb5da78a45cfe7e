"""The models file: model names used in tasks → litellm route, endpoint, key, limits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from grasp_core.config import StrictModel, validate_block
from grasp_core.errors import ConfigError
from grasp_core.yaml_source import YamlDocument, load_yaml

__all__ = [
    "MODELS_ENV_VAR",
    "ModelCatalog",
    "ModelCost",
    "ModelSpec",
    "catalog_for_checking",
    "find_models_file",
]

MODELS_ENV_VAR = "GRASP_MODELS"
MOCK_API_KEY = "sk-grasp-mock"
PROVIDER_KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "azure": "AZURE_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "hosted_vllm": "HOSTED_VLLM_API_KEY",
}
"""Where a key is looked up when an entry names no ``api_key_env`` (litellm's convention)."""


class ModelCost(StrictModel):
    """A model's price, in dollars per million tokens."""

    input_per_million: float = Field(ge=0)
    """Dollars per million prompt (input) tokens."""
    output_per_million: float = Field(ge=0)
    """Dollars per million completion (output) tokens."""


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
    parameters: dict[str, Any] = Field(default_factory=dict)
    """Default request parameters; a node's own `parameters` override them."""
    timeout: float = Field(default=120.0, gt=0)
    """Seconds one request may take before it is abandoned and retried."""
    max_retries: int = Field(default=5, ge=0)
    """Retries on 429, 5xx, timeouts and dropped connections (exponential backoff, jitter)."""
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
    cost: ModelCost | None = None
    """Price of this model in dollars per million tokens; overrides litellm's price table
    (and prices routes the table does not know, such as your own vLLM server)."""
    price_as: str | None = None
    """A litellm route whose price in litellm's table applies to this model (a renamed or
    proxied model); `cost` wins over it. `--mock` keeps the real route's price this way."""

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


@dataclass
class ModelCatalog:
    """Every model a run may call, by the name tasks use."""

    specs: dict[str, ModelSpec] = field(default_factory=dict)
    source: str = "<no models file>"
    mock_url: str | None = None
    check_only: bool = False
    """For `grasp validate`: model names are checked, API key variables are not read."""
    base_dir: Path | None = None
    """The models file's folder (relative ``api_key_file`` paths start there)."""

    def get(self, name: str) -> ModelSpec:
        """The spec for ``name``; an unknown name lists the known ones and the file."""
        spec = self.specs.get(name)
        if spec is None and self.mock_url is not None:
            spec = self.specs[name] = ModelSpec(
                model=f"openai/{name}", api_base=self.mock_url + "/v1", max_concurrency=64
            )
        if spec is None:
            known = ", ".join(sorted(self.specs)) or "none"
            raise ConfigError(
                f"model {name!r} is not in the models file ({self.source}); known models: "
                f"{known}. Add an entry for it, or pass --models FILE"
            )
        return spec

    def backend_of(self, name: str) -> str:
        """The backend key whose limiter calls to ``name`` share."""
        spec = self.get(name)
        return spec.backend or name

    def with_mock(self, url: str) -> ModelCatalog:
        """A copy that sends every model to a mock server (names not in the file too: see
        :meth:`get`)."""
        specs: dict[str, ModelSpec] = {}
        for name, base in sorted(self.specs.items()):
            provider, _, rest = base.model.partition("/")
            native = provider.startswith("ollama") or provider == "azure"
            update = {
                "model": base.model if native else f"openai/{rest}",
                "api_base": url if native else url + "/v1",
                "api_key_env": None,
                "api_key_file": None,
                "price_as": base.price_as or base.model,
            }
            specs[name] = base.model_copy(update=update)
        return ModelCatalog(
            specs=specs, source=f"{self.source} (routed to mock {url})", mock_url=url
        )

    def api_key(self, name: str, task_dir: Path | None = None) -> str | None:
        """The API key for ``name`` (a fixed dummy key when talking to the mock)."""
        if self.mock_url is not None:
            return MOCK_API_KEY
        spec = self.get(name)
        return None if self.check_only else spec.api_key(self.base_dir, task_dir)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, source: str, document: YamlDocument | None = None
    ) -> ModelCatalog:
        """Validate a models mapping (name → entry)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: a models file maps model names to entries")
        specs: dict[str, ModelSpec] = {}
        for name, entry in data.items():
            if isinstance(entry, Mapping) and "api_key" in entry:
                where = document.where((str(name), "api_key")) if document else source
                raise ConfigError(
                    f"{where}: API keys never go in the models file; put the key in an "
                    "environment variable and name it with `api_key_env`"
                )
            specs[str(name)] = validate_block(
                ModelSpec, entry, path=(str(name),), document=document
            )
        return cls(specs=specs, source=source)

    def for_checking(self) -> ModelCatalog:
        """A copy that validates model names without reading API keys."""
        return ModelCatalog(
            specs=dict(self.specs), source=self.source, check_only=True, base_dir=self.base_dir
        )

    @classmethod
    def load(cls, path: Path) -> ModelCatalog:
        """Read a models file."""
        document = load_yaml(path)
        catalog = cls.from_mapping(document.data or {}, source=str(path), document=document)
        catalog.base_dir = path.resolve().parent
        return catalog


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


def find_models_file(explicit: Path | None, task_dir: Path | None) -> Path | None:
    """``--models FILE``, then ``$GRASP_MODELS``, then ``models.yaml`` beside the task."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"models file {str(explicit)!r} does not exist")
        return explicit
    from_env = os.environ.get(MODELS_ENV_VAR)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"{MODELS_ENV_VAR}={from_env!r} does not name an existing file")
        return path
    if task_dir is not None:
        beside = task_dir / "models.yaml"
        if beside.is_file():
            return beside
    return None


def catalog_for_checking(explicit: Path | None, task_dir: Path | None) -> ModelCatalog:
    """The catalog ``grasp validate`` and ``grasp graph`` compile against: the models file's
    names and settings when there is one (no key needed), else every name accepted."""
    path = find_models_file(explicit, task_dir)
    if path is None:
        return ModelCatalog(mock_url="-")
    return ModelCatalog.load(path).for_checking()
