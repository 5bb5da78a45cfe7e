"""Config models read their field docstrings themselves (``config/_docstrings.py``), once per
source file, instead of through pydantic's slower ``use_attribute_docstrings``: every field
gets the same description pydantic would give it, and schemas are built on first use."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, create_model

from grasp_core.config import StrictModel
from tests.conftest import REPO_ROOT


def _descriptions(model: type[StrictModel]) -> dict[str, str | None]:
    return {name: field.description for name, field in model.model_fields.items()}


def test_the_string_under_a_field_is_its_description_and_an_explicit_one_wins() -> None:
    """A field's docstring becomes its description (cleaned like ``inspect.cleandoc``); a
    ``Field(description=...)`` keeps its own; an undocumented field has none."""

    class Settings(StrictModel):
        size: int = 3
        """How many.

            Indented continuation."""
        name: str = Field("x", description="explicit")
        """ignored: the explicit description wins"""
        plain: bool = False

    assert _descriptions(Settings) == {
        "size": "How many.\n\nIndented continuation.",
        "name": "explicit",
        "plain": None,
    }
    schema = Settings.model_json_schema()["properties"]
    assert schema["size"]["description"] == "How many.\n\nIndented continuation."
    assert "description" not in schema["plain"]


def _first_definition() -> type[StrictModel]:
    class Twin(StrictModel):
        a: int = 1
        """first a"""

    return Twin


def _second_definition() -> type[StrictModel]:
    class Twin(StrictModel):
        a: int = 1
        """second a"""

    return Twin


def test_two_classes_of_one_name_in_one_file_each_get_their_own_docstrings() -> None:
    """The class is found by the line of its ``class`` statement, not by its name."""
    assert _descriptions(_first_definition()) == {"a": "first a"}
    assert _descriptions(_second_definition()) == {"a": "second a"}


def _tagged(cls: type[StrictModel]) -> type[StrictModel]:
    return cls


def test_a_decorated_class_nested_blocks_and_nested_classes() -> None:
    """A decorated class is found; fields documented inside an ``if`` block count; the
    fields of a class nested in the body are not the outer class's."""

    @_tagged
    class Outer(StrictModel):
        class Inner(StrictModel):
            hidden: int = 0
            """the inner class's own"""

        kept: int = 0
        """outer kept"""
        if True:
            branch: int = 1
            """in an if block"""

    assert _descriptions(Outer) == {"kept": "outer kept", "branch": "in an if block"}
    assert _descriptions(Outer.Inner) == {"hidden": "the inner class's own"}


def test_subclasses_keep_inherited_descriptions_and_document_their_own() -> None:
    """An inherited field keeps the base's description; a field annotated again in the
    subclass has only the subclass's docstring (none when it has none)."""

    class Base(StrictModel):
        a: int = 0
        """base a"""
        b: int = 0
        """base b"""

    class Child(Base):
        b: int = 5
        c: int = 0
        """child c"""

    assert _descriptions(Child) == {"a": "base a", "b": None, "c": "child c"}


def test_a_subclass_built_at_once_still_shows_its_descriptions_in_its_schema() -> None:
    """A model that turns ``defer_build`` off (built before the docstrings are read) is
    built again with them, and still resolves a type local to the function defining it."""

    class Local(StrictModel):
        v: int = 0

    class Eager(StrictModel):
        model_config = ConfigDict(defer_build=False)
        inner: Local = Local()
        """the inner block"""

    schema = Eager.model_json_schema()
    assert schema["properties"]["inner"]["description"] == "the inner block"
    assert Eager.model_validate({"inner": {"v": 2}}).inner.v == 2


def test_models_without_a_class_statement_get_no_docstrings() -> None:
    """``create_model`` (no source to read) and a class made by ``exec`` give no
    descriptions and no error."""
    made = create_model("Made", __base__=StrictModel, x=(int, 0))
    assert _descriptions(made) == {"x": None}
    namespace: dict[str, Any] = {"StrictModel": StrictModel, "__name__": __name__}
    exec(  # a class whose source no file holds
        "class FromExec(StrictModel):\n    y: int = 0\n    '''doc'''\n", namespace
    )
    assert _descriptions(namespace["FromExec"]) == {"y": None}


def test_a_rewritten_source_file_is_read_again(tmp_path: Path) -> None:
    """A module file written again with other docstrings (and imported again) gives the
    new ones: the parsed file is cached by its modification time and size."""
    module = tmp_path / "rewritten_model.py"
    code = "from grasp_core.config import StrictModel\n\nclass M(StrictModel):\n"
    sys.path.insert(0, str(tmp_path))
    try:
        seen = []
        for doc in ("first version", "the second version"):
            module.write_text(code + f"    x: int = 0\n    '''{doc}'''\n")
            os.utime(module, ns=(1, 10**9 * len(doc)))
            sys.modules.pop("rewritten_model", None)
            import rewritten_model  # type: ignore[import-not-found]

            seen.append(rewritten_model.M.model_fields["x"].description)
        assert seen == ["first version", "the second version"]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("rewritten_model", None)


def test_a_model_in_a_zip_file_is_described(tmp_path: Path) -> None:
    """A module imported from a zip file (no file to stat) is read through its loader."""
    archive = tmp_path / "models.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(
            "zipped_model.py",
            "from grasp_core.config import StrictModel\n\n"
            'class Z(StrictModel):\n    z: int = 0\n    """from the zip"""\n',
        )
    sys.path.insert(0, str(archive))
    try:
        import zipped_model  # type: ignore[import-not-found]

        assert zipped_model.Z.model_fields["z"].description == "from the zip"
    finally:
        sys.path.remove(str(archive))
        sys.modules.pop("zipped_model", None)


_DUMP = """
import importlib, json, pkgutil, sys
from grasp_core.config import StrictModel

for package in ("grasp_core", "grasp_nodes", "grasp_io"):
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not info.name.endswith("__main__"):
            try:
                importlib.import_module(info.name)
            except ImportError:  # an optional dependency (ray...) is not installed
                pass

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

print(json.dumps({
    f"{cls.__module__}.{cls.__qualname__}": {
        "descriptions": {n: f.description for n, f in cls.model_fields.items()},
        "schema": cls.model_json_schema(),
    }
    for cls in subclasses(StrictModel)
}, sort_keys=True, default=str))
"""


def _dump(pythonpath: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_DUMP)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dumped: dict[str, Any] = json.loads(done.stdout)
    return dumped


def test_every_config_model_has_the_descriptions_and_schema_pydantic_would_give(
    tmp_path: Path,
) -> None:
    """Every ``StrictModel`` of the three packages has the same field descriptions and JSON
    schema as with pydantic's own ``use_attribute_docstrings`` (a copy of the source whose
    base model turns it on, and this reader off)."""
    for package in ("grasp_core", "grasp_nodes", "grasp_io"):
        shutil.copytree(
            REPO_ROOT / "src" / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    base = tmp_path / "grasp_core" / "config" / "_base.py"
    source = base.read_text()
    assert "defer_build=True," in source
    assert "docs = attribute_docstrings(cls)" in source
    base.write_text(
        source.replace(
            "defer_build=True,", "defer_build=True, use_attribute_docstrings=True,"
        ).replace("docs = attribute_docstrings(cls)", "docs: dict[str, str] = {}")
    )
    ours, pydantics = _dump(None), _dump(tmp_path)
    assert len(ours) > 50
    assert sum(bool(d) for m in ours.values() for d in m["descriptions"].values()) > 300
    assert ours == pydantics
