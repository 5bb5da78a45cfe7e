"""Tools for the agent_tools example: typed, documented Python functions.

The agent derives each tool's JSON schema from its signature: the docstring's first
paragraph describes the tool, and parameters are described by an ``Args:`` section or by
``Annotated[..., Field(description=...)]``.
"""

from typing import Annotated, Literal

import anyio
from pydantic import Field

LengthUnit = Literal["m", "km", "mile", "ft"]

_METRES = {"m": 1.0, "km": 1000.0, "mile": 1609.344, "ft": 0.3048}
_CONSTANTS = {
    "speed_of_light": (299_792_458.0, "m/s"),
    "standard_gravity": (9.80665, "m/s^2"),
    "avogadro": (6.02214076e23, "1/mol"),
}


def convert_length(value: float, from_unit: LengthUnit, to_unit: LengthUnit) -> float:
    """Convert a length from one unit to another.

    Args:
        value: The length to convert.
        from_unit: The unit `value` is in.
        to_unit: The unit to convert to.
    """
    return round(value * _METRES[from_unit] / _METRES[to_unit], 6)


async def lookup_constant(
    name: Annotated[str, Field(description="The constant, such as `speed_of_light`.")],
) -> dict[str, object]:
    """Look up the value and unit of a physical constant."""
    await anyio.sleep(0.001)  # stands in for a lookup over the network
    if name not in _CONSTANTS:
        raise ValueError(f"unknown constant {name!r}; known: {', '.join(sorted(_CONSTANTS))}")
    value, unit = _CONSTANTS[name]
    return {"name": name, "value": value, "unit": unit}


def multiply(a: float, b: float) -> float:
    """Multiply two numbers.

    Args:
        a: The first factor.
        b: The second factor.
    """
    return a * b
