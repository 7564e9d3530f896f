"""Typed, frozen dataclass configs: defaults in code, YAML overrides, `a.b=c` overrides, validation.

The order is always: defaults -> YAML file(s) -> --params_override -> validate(). Every error names the
dotted key it is about, so a typo in a YAML file or an override fails loudly instead of passing silently.
"""
from __future__ import annotations

import dataclasses
import os
import re
import typing
from typing import Any, Dict, Mapping, Tuple, Type, TypeVar, Union

import yaml

C = TypeVar("C", bound="Config")


class ConfigError(ValueError):
    """A config key is unknown, of the wrong type, or has an impossible value."""


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads 1e-3 as a string (it wants 1.0e-3); here any float literal is a float."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
               |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
               |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
               |[-+]?\.(?:inf|Inf|INF)
               |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def yaml_load(text):
    return yaml.load(text, Loader=_Loader)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Checks `value` against the annotation `tp`; returns it in canonical form (tuples, Configs)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Union:
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key}: must be one of {list(args)}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise ConfigError(f"{key}: expected {len(args)} items, got {len(value)}")
            return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value))
    if isinstance(tp, type) and issubclass(tp, Config):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping for {tp.__name__}, got {value!r}")
        return tp.from_dict(value, prefix=key)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported annotation {tp!r}")


@dataclasses.dataclass(frozen=True)
class Config:
    """Base for every config section. Subclasses are frozen dataclasses with annotated fields.

    Subclasses put their value checks in `_check(prefix)`, raising ConfigError through `self._fail`.
    `retired_keys`: keys an older tfclone wrote (into model_dirs and exports) that are read and ignored.
    """

    retired_keys: typing.ClassVar[Tuple[str, ...]] = ()

    @classmethod
    def _hints(cls) -> Dict[str, Any]:
        return typing.get_type_hints(cls)

    @classmethod
    def from_dict(cls: Type[C], data: Mapping[str, Any], prefix: str = "") -> C:
        """Builds from defaults overridden by `data` (a possibly partial nested mapping)."""
        return cls().override(data, prefix=prefix)

    def override(self: C, data: Mapping[str, Any], prefix: str = "") -> C:
        """Returns a copy with the keys of `data` replaced; nested mappings merge into sub-configs."""
        if data is None:
            return self
        if not isinstance(data, Mapping):
            raise ConfigError(f"{prefix or '<root>'}: expected a mapping, got {data!r}")
        hints = self._hints()
        names = {f.name for f in dataclasses.fields(self)}
        changes = {}
        for name, value in data.items():
            key = _join(prefix, str(name))
            if name in self.retired_keys:  # written by an older tfclone into a model_dir or an export
                continue
            if name not in names:
                raise ConfigError(f"{key}: unknown key (known: {', '.join(sorted(names))})")
            current = getattr(self, name)
            if isinstance(current, Config) and isinstance(value, Mapping):
                changes[name] = current.override(value, prefix=key)
            else:
                changes[name] = _coerce(value, hints[name], key)
        return dataclasses.replace(self, **changes)

    def override_params(self: C, params: str) -> C:
        """Applies a `--params_override` string: `a.b=c,d.e=f` (values parsed as YAML scalars/lists)."""
        return self.override(parse_params_override(params))

    def to_dict(self) -> Dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Config):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = [v.to_dict() if isinstance(v, Config) else v for v in value]
            out[f.name] = value
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)

    @classmethod
    def from_yaml(cls: Type[C], text: str) -> C:
        return cls.from_dict(yaml_load(text) or {})

    def validate(self: C, prefix: str = "") -> C:
        """Checks every section's values; returns self so calls chain. Raises ConfigError."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Config):
                value.validate(_join(prefix, f.name))
        self._check(prefix)
        return self

    def _check(self, prefix: str) -> None:
        """Subclass hook for value checks."""

    def _fail(self, prefix: str, name: str, problem: str) -> None:
        raise ConfigError(f"{_join(prefix, name)}: {problem} (got {getattr(self, name, None)!r})")

    def _require_positive(self, prefix: str, *names: str) -> None:
        for name in names:
            if not getattr(self, name) > 0:
                self._fail(prefix, name, "must be > 0")

    def save(self, path: str) -> None:
        """Writes the YAML atomically (temporary file, then rename)."""
        from tfclone.fileio import atomic_write_text

        atomic_write_text(path, self.to_yaml())


def parse_params_override(params: str) -> Dict[str, Any]:
    """`a.b=1,c=[1, 2],d.e=x` -> nested dict. Commas inside brackets do not split."""
    result: Dict[str, Any] = {}
    for item in _split_top_level(params or ""):
        if not item.strip():
            continue
        if "=" not in item:
            raise ConfigError(f"params_override: '{item}' is not of the form key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"params_override: '{item}' has an empty key")
        try:
            value = yaml_load(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"{key}: cannot parse value {raw!r}: {e}") from None
        node = result
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"params_override: '{key}' sets a value and a section at once")
        node[parts[-1]] = value
    return result


def _split_top_level(text: str) -> Tuple[str, ...]:
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return tuple(items)


def load_config(cls: Type[C], config_files=(), params_override: str = "") -> C:
    """defaults -> each YAML file in order -> params_override -> validate."""
    if isinstance(config_files, str):
        config_files = [config_files] if config_files else []
    config = cls()
    for path in config_files:
        if not os.path.isfile(path):
            raise ConfigError(f"config file {path}: does not exist")
        with open(path, encoding="utf-8") as f:
            try:
                data = yaml_load(f.read()) or {}
            except yaml.YAMLError as e:
                raise ConfigError(f"config file {path}: not valid YAML: {e}") from None
        try:
            config = config.override(data)
        except ConfigError as e:
            raise ConfigError(f"config file {path}: {e}") from None
    if params_override:
        config = config.override_params(params_override)
    return config.validate()
