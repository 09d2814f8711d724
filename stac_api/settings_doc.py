"""The configuration reference (`docs/configuration.md`), written from the settings models so
that it cannot drift from them: `dinamis settings doc --output docs/configuration.md`
(tests/test_packaging.py checks that the file is current)."""

from __future__ import annotations

import ast
import enum
import functools
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from extensions.assets.settings import S3Settings
from extensions.places.sources import PlacesSettings
from extensions.plugins import DEFAULT_PLUGINS, load_plugins
from extensions.settings import Settings
from pgstac.settings import ClusterSettings

INSTALLED = Path(__file__).resolve().parents[1]
"""Where the packages are (a checkout or site-packages): paths under it are shown from it."""

HEADER = """# Configuration reference

Every setting is an environment variable, read once when a process starts (`dinamis serve`,
`dinamis worker`, the other commands). Every process of a site must see the same values.
Written by `dinamis settings doc --output docs/configuration.md` from the settings models: do
not edit by hand. A variable of a list takes comma-separated values.
"""


def settings_models() -> list[type[BaseSettings]]:
    """The product's settings classes: `Settings` and what it nests, the ones read apart
    (S3, the embedded cluster, the gazetteer), then each default plugin's."""
    found: list[type[BaseSettings]] = []

    def walk(model: type[BaseSettings]) -> None:
        if model in found:
            return
        found.append(model)
        for field in model.model_fields.values():
            for nested in _classes(field.annotation):
                if issubclass(nested, BaseSettings):
                    walk(nested)

    walk(Settings)
    for model in (S3Settings, ClusterSettings, PlacesSettings):
        walk(model)
    for plugin in load_plugins(DEFAULT_PLUGINS):
        if plugin.settings_model is not None:
            walk(plugin.settings_model)
    return found


def _classes(annotation: Any) -> Iterator[type]:
    if inspect.isclass(annotation):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _classes(argument)


def attribute_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """The string literal under each field of the model's classes (its own wins)."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if issubclass(cls, BaseModel) and cls not in (BaseModel, BaseSettings):
            docs.update(class_docstrings(cls))
    return docs


@functools.cache
def class_docstrings(cls: type) -> dict[str, str]:
    """The field docstrings written in one class's body (its module parsed once)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for field, after in itertools.pairwise(body):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[field.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return docs


def variables(model: type[BaseSettings], name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice).upper() for choice in alias.choices]
    if isinstance(alias, str):
        return [alias.upper()]
    return [f"{model.model_config.get('env_prefix', '')}{name}".upper()]


def shown(value: Any) -> str:
    """A default as an operator would write it."""
    if value is None or isinstance(value, SecretStr):
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Path):
        path = value.resolve()
        return (
            f"<installation>/{path.relative_to(INSTALLED)}"
            if path.is_relative_to(INSTALLED)
            else str(value)
        )
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(shown(v) for v in value) or "(empty)"
    return str(value)


def type_name(annotation: Any) -> str:
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return " \\| ".join(str(m.value) for m in annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(str(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(
            type_name(a) for a in typing.get_args(annotation) if a is not type(None)
        )
    if origin is not None:
        return (
            "list"
            if origin in (list, tuple, set, frozenset) or "Sequence" in str(origin)
            else str(origin.__name__)
        )
    return getattr(annotation, "__name__", str(annotation))


def reference() -> str:
    """The whole reference, as Markdown."""
    parts = [HEADER]
    for model in settings_models():
        docs = attribute_docstrings(model)
        rows = []
        for name, field in model.model_fields.items():
            if (
                any(issubclass(c, BaseSettings) for c in _classes(field.annotation))
                or name == "plugin_settings"
            ):
                continue
            default = "(computed)" if field.default_factory is not None else shown(field.default)
            if field.default is PydanticUndefined and field.default_factory is None:
                default = "(required)"
            meaning = (field.description or docs.get(name, "")).replace("|", "\\|")
            rows.append(
                f"| `{'` or `'.join(variables(model, name, field))}` | {type_name(field.annotation)} "
                f"| `{default}` | {meaning} |"
            )
        if not rows:
            continue
        summary = inspect.cleandoc(model.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        parts.append(f"## {model.__name__}\n\n{summary}\n")
        parts.append(
            "| variable | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
        )
    return "\n".join(parts)
