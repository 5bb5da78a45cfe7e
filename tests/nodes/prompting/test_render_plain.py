"""A template whose fields are plain keys holding text, numbers, bools or None renders in one
``%`` format (``Template.render_plain``), giving exactly the text of the general walk over
its pieces (``join(lookups(...))``); any other template or value is left to that walk."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from grasp_core.errors import ConfigError
from grasp_nodes.prompting.templates import Template

_KEYS = ["a", "b", "0", "x.y", "%s", "é"]
_literal = st.text(alphabet=st.sampled_from(list("ab %{}s\n\\é")), max_size=8)
_value = st.one_of(
    st.text(max_size=5),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["y"]), st.integers(), max_size=1),
)


@given(
    st.lists(st.tuples(_literal, st.sampled_from(_KEYS)), max_size=4),
    _literal,
    st.dictionaries(st.sampled_from(_KEYS), _value),
)
def test_plain_rendering_gives_the_general_text(
    pieces: list[tuple[str, str]], tail: str, state: dict[str, Any]
) -> None:
    """Same text as the general walk whenever it answers, for any literals (``%`` and
    escaped braces included) and values; a missing key or a dotted field is declined."""
    text = "".join(
        literal.replace("{", "{{").replace("}", "}}") + f"{{{key}}}" for literal, key in pieces
    )
    text += tail.replace("{", "{{").replace("}", "}}")
    try:
        template = Template(text, where="prompt[0]")
    except ConfigError:
        return
    for view in (state, MappingProxyType(state)):
        plain = template.render_plain(view)
        keys = template.variables
        if any("." in key or key not in state for key in keys):
            assert plain is None
            continue
        general = template.join(template.lookups(view, record_id="r", node="n"))
        if all(type(state[key]) in (str, int, float, bool, type(None)) for key in keys):
            assert plain == general
        else:
            assert plain is None
        assert template.render(view, record_id="r", node="n") == general
