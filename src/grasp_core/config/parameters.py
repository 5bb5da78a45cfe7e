"""Request parameters (a models-file entry's or a node's ``parameters``), checked at load.

The OpenAI chat parameters GraSP knows are checked by type and range, so a task with
``temperature: hot`` or ``max_tokens: .nan`` is refused before the first call (``grasp
validate`` reports it) instead of failing, or being sent as invalid JSON, at run time.
Every value must be JSON (no NaN or infinity, no Python objects). Other names pass through
to the provider as they are (``top_k``, ``repetition_penalty``, ``extra_body``...); one that
looks like a misspelt known name (``temprature``) is sent too, with a warning saying which
name was probably meant.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    with_config,
)
from typing_extensions import TypedDict

from grasp_core.config.yaml_source import YamlPath

__all__ = ["KNOWN_PARAMETERS", "ModelParameters", "misspelt_parameters"]

_Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
_Int = Annotated[int, Field(strict=True)]


def _stop(value: Any) -> str | list[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return value
    raise ValueError("give a string or a list of strings")


@with_config(ConfigDict(extra="allow"))
class _ChatParameters(TypedDict, total=False):
    """The OpenAI chat parameters, checked by type and by the ranges that hold for every
    server (OpenAI's tighter limits, such as temperature <= 2 or 4 stop strings, are not
    checked: vLLM or llama.cpp accept more, and a server refusing a value fails at once with
    its reason). Other keys are kept as is."""

    temperature: Annotated[_Number, Field(ge=0)]
    top_p: Annotated[_Number, Field(ge=0, le=1)]
    max_tokens: Annotated[_Int, Field(ge=1)]
    max_completion_tokens: Annotated[_Int, Field(ge=1)]
    n: Annotated[_Int, Field(ge=1)]
    presence_penalty: _Number
    frequency_penalty: _Number
    seed: _Int
    stop: Annotated[Any, AfterValidator(_stop)]
    logprobs: Annotated[bool, Field(strict=True)]
    top_logprobs: Annotated[_Int, Field(ge=0)]
    logit_bias: dict[str | int, _Number]
    """Token ids (YAML may write them as numbers) → bias."""
    response_format: (
        dict[str, Any] | Literal["b64_json", "url", "wav", "mp3", "flac", "opus", "aac", "pcm"]
    )
    """A dict for chat; an image (`b64_json`, `url`) or speech (`wav`, `mp3`...) format for
    media models in SyGra's spelling (`output_type: image | audio`)."""
    user: Annotated[str, Field(strict=True)]


_UNCHECKED = frozenset(
    {
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "functions",
        "function_call",
        "stream",
        "stream_options",
        "reasoning_effort",
        "service_tier",
        "store",
        "metadata",
        "modalities",
        "audio",
        "prediction",
        "web_search_options",
        "verbosity",
    }
)
"""OpenAI chat parameters passed on without a check of their own (JSON only)."""
KNOWN_PARAMETERS = frozenset(_ChatParameters.__annotations__) | _UNCHECKED
"""The OpenAI chat parameters: a name close to one of these is probably a typo."""
_PROVIDER_PARAMETERS = frozenset(
    {
        "top_k",
        "min_p",
        "typical_p",
        "repetition_penalty",
        "repeat_penalty",
        "min_tokens",
        "best_of",
        "num_ctx",
        "num_predict",
        "keep_alive",
        "extra_body",
        "extra_headers",
        "chat_template_kwargs",
        "guided_json",
        "guided_regex",
        "guided_choice",
        "guided_grammar",
        "grammar",
        "json_schema",
        "cache_prompt",
        "safe_prompt",
        "random_seed",
        "thinking",
    }
)
"""Well-known parameters of other providers (vLLM, llama.cpp, Ollama, Mistral,
Anthropic): never taken for misspellings, however close to an OpenAI name."""


def _json_only(parameters: dict[str, Any]) -> dict[str, Any]:
    for path, value in _leaves(parameters, ()):
        where = ".".join(map(str, path))
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where} is {value!r}, which JSON cannot carry; give a number")
        if not isinstance(value, str | int | float | bool | type(None)):
            raise ValueError(
                f"{where} is a {type(value).__name__}, which is not JSON; give a string, "
                "number, boolean, list or mapping"
            )
    return parameters


def _leaves(value: Any, path: YamlPath) -> Iterator[tuple[YamlPath, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


class _Marker:
    """Marks a field as request parameters (for :func:`misspelt_parameters`)."""


_MARKER = _Marker()

ModelParameters = Annotated[
    dict[str, Any],
    GetPydanticSchema(lambda _type, handler: handler(_ChatParameters)),
    AfterValidator(_json_only),
    _MARKER,
]
"""The type of a ``parameters`` field: a plain dict, its known keys checked (see above)."""


def misspelt_parameters(model: BaseModel, path: YamlPath = ()) -> Iterator[tuple[YamlPath, str]]:
    """``(YAML path, message)`` for each parameter in ``model`` (and the models inside it)
    whose name is unknown but close to a known one; such parameters are still sent."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        where = (*path, field.alias or name)
        if _MARKER in field.metadata and isinstance(value, Mapping):
            for key in value:
                hint = _near_miss(str(key))
                if hint is not None:
                    yield (
                        (*where, str(key)),
                        (
                            f"unknown parameter {key!r} (did you mean {hint!r}?); it is sent to "
                            "the provider as it is"
                        ),
                    )
        else:
            for inner_path, inner in _models_in(value, where):
                yield from misspelt_parameters(inner, inner_path)


def _near_miss(name: str) -> str | None:
    if name in KNOWN_PARAMETERS or name in _PROVIDER_PARAMETERS:
        return None
    match = difflib.get_close_matches(name.lower(), sorted(KNOWN_PARAMETERS), n=1, cutoff=0.75)
    return match[0] if match else None


def _models_in(value: Any, path: YamlPath) -> Iterator[tuple[YamlPath, BaseModel]]:
    if isinstance(value, BaseModel):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _models_in(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _models_in(item, (*path, index))
