"""The models file: model names used in tasks → litellm route, endpoint, key, limits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasp_core.config import validate_block
from grasp_core.config.models_file import BatchOptions, CacheSettings, ModelCost, ModelSpec
from grasp_core.config.sygra_models import translate_sygra_models
from grasp_core.config.yaml_source import YamlDocument, load_yaml
from grasp_core.errors import ConfigError
from grasp_core.logs import register_secret

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
_VALIDATE_MOCK_HINT = "; for a run with --mock, check the task with `grasp validate --mock`"


@dataclass
class ModelCatalog:
    """Every model a run may call, by the name tasks use."""

    specs: dict[str, ModelSpec] = field(default_factory=dict)
    source: str = "<no models file>"
    mock_url: str | None = None
    check_only: bool = False
    """For `grasp validate` and `grasp graph`: :meth:`api_key` never returns a key."""
    check_keys: bool = False
    """With ``check_only``: still look each key up, so that an unset variable or an
    unreadable key file is reported (`grasp validate`); `grasp graph` needs no key."""
    base_dir: Path | None = None
    """The models file's folder (relative ``api_key_file`` paths start there)."""
    lines: dict[str, int] = field(default_factory=dict)
    """The line of each model's entry in the models file, for errors."""
    unusable: dict[str, str] = field(default_factory=dict)
    """Models that cannot be called on this machine, and why (a SyGra entry whose URL
    variable is unset); reported when a key is asked for, so ``--mock`` still runs them."""
    cache_dir: Path | None = None
    """The response cache's folder from the file's top-level ``cache: {dir}`` (absolute
    when read by :meth:`load`); ``--cache-dir`` wins, and None means the default folder."""
    cache_max_mb: int | None = None
    """The cache's size limit from ``cache: {max_mb}``; ``--cache-max-mb`` wins."""
    call_live: bool = False
    """Call batched entries (``batch:``) live, at their batch prices (``grasp preview``)."""
    variants: dict[str, list[str]] = field(default_factory=dict)
    """Entries made by :meth:`batch_variant`, by the entry they copy."""

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

    def batch_variant(self, name: str, batch: BatchOptions) -> str:
        """The name of an entry like ``name`` batched with ``batch``, made for a node whose
        ``model:`` batches it otherwise than the entry: ``name[batch]`` (``name[batch 2]``
        for a second set of options). Its calls are priced and counted apart from
        ``name``'s, on the same backend."""
        spec = self.get(name).model_copy(update={"batch": batch, "backend": self.backend_of(name)})
        made = self.variants.setdefault(name, [])
        for variant in made:
            if self.specs[variant] == spec:
                return variant
        variant = f"{name}[batch{f' {len(made) + 1}' if made else ''}]"
        self.specs[variant] = spec
        made.append(variant)
        if name in self.lines:
            self.lines[variant] = self.lines[name]
        return variant

    def named(self, names: list[str]) -> list[str]:
        """``names`` and the variants made of them, sorted."""
        return sorted({*names, *(v for n in names for v in self.variants.get(n, ()))})

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
            specs=specs,
            source=f"{self.source} (routed to mock {url})",
            mock_url=url,
            cache_dir=self.cache_dir,
            cache_max_mb=self.cache_max_mb,
        )

    def api_key(self, name: str, task_dir: Path | None = None) -> str | None:
        """The API key for ``name`` (a fixed dummy key when talking to the mock).

        A key that is read is registered for redaction (see ``grasp_core.logs.redact``), so
        no log line, failure reason or error message can show it, even when a server
        echoes it back. An error names the model, its entry in the models file and where
        the key was looked for, never the key."""
        if self.mock_url is not None:
            return MOCK_API_KEY
        spec = self.get(name)
        if self.check_only and not self.check_keys:
            return None
        hint = _VALIDATE_MOCK_HINT if self.check_only else ""
        if name in self.unusable:
            raise ConfigError(f"model {name!r} ({self._where(name)}): {self.unusable[name]}{hint}")
        try:
            key = spec.api_key(self.base_dir, task_dir)
        except ConfigError as exc:
            raise ConfigError(f"model {name!r} ({self._where(name)}): {exc}{hint}") from None
        register_secret(key)
        return None if self.check_only else key

    def _where(self, name: str) -> str:
        line = self.lines.get(name)
        return f"{self.source}:{line}" if line is not None else self.source

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, source: str, document: YamlDocument | None = None
    ) -> ModelCatalog:
        """Validate a models mapping (name → entry, and the top-level ``cache:`` settings);
        SyGra's entries (with ``model_type``) are translated first
        (:mod:`grasp_core.config.sygra_models`)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: a models file maps model names to entries")
        settings = _cache_settings(data.get("cache"), source=source, document=document)
        data = {name: entry for name, entry in data.items() if name != "cache"}
        translated = translate_sygra_models(data, source=source, document=document)
        data = translated.entries
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
        found = {n: document.line_of((n,)) for n in specs} if document is not None else {}
        lines = {name: line for name, line in found.items() if line is not None}
        return cls(
            specs=specs,
            source=source,
            lines=lines,
            unusable=translated.unusable,
            cache_dir=Path(settings.dir).expanduser() if settings.dir else None,
            cache_max_mb=settings.max_mb,
        )

    def for_checking(self, *, check_keys: bool = False) -> ModelCatalog:
        """A copy for checking a task: model names and, with ``check_keys``, that each
        model's key can be found; no key is ever returned."""
        return ModelCatalog(
            specs=dict(self.specs),
            source=self.source,
            check_only=True,
            check_keys=check_keys,
            base_dir=self.base_dir,
            lines=self.lines,
            unusable=self.unusable,
            cache_dir=self.cache_dir,
            cache_max_mb=self.cache_max_mb,
        )

    @classmethod
    def load(cls, path: Path) -> ModelCatalog:
        """Read a models file."""
        document = load_yaml(path)
        catalog = cls.from_mapping(document.data or {}, source=str(path), document=document)
        catalog.base_dir = path.resolve().parent
        if catalog.cache_dir is not None:
            catalog.cache_dir = catalog.base_dir / catalog.cache_dir  # kept when absolute
        return catalog


def _cache_settings(block: object, *, source: str, document: YamlDocument | None) -> CacheSettings:
    """The top-level ``cache:`` block; ``cache`` is reserved for it, never a model name."""
    if block is None:
        return CacheSettings()
    if isinstance(block, Mapping) and "model" in block:
        where = document.where(("cache",)) if document else source
        raise ConfigError(
            f"{where}: `cache` at the top of a models file holds the response cache's "
            "settings (`dir`, `max_mb`), not a model; give this model another name"
        )
    return validate_block(CacheSettings, block, path=("cache",), document=document)


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


def catalog_for_checking(
    explicit: Path | None, task_dir: Path | None, *, check_keys: bool = False
) -> ModelCatalog:
    """The catalog ``grasp validate`` and ``grasp graph`` compile against: the models file's
    names and settings when there is one, else every name accepted. With ``check_keys``
    (``grasp validate``), each model the task uses must have its key available, as a run
    would require; the key itself is never returned."""
    path = find_models_file(explicit, task_dir)
    if path is None:
        return ModelCatalog(mock_url="-")
    return ModelCatalog.load(path).for_checking(check_keys=check_keys)
