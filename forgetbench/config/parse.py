"""Typed parsing of dataclass configs: YAML values are checked, CLI strings converted, to each
field's annotation; every error names the dotted field (``field_error``), and ``yaml_line`` finds
that field's line in the YAML file."""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import yaml

from forgetbench.errors import ForgetbenchError


def field_error(where: str, msg: str) -> ForgetbenchError:
    """An error about config field ``where`` (dotted); ``load_config`` adds the YAML line."""
    err = ForgetbenchError(msg)
    err.field = where
    return err


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


#: List fields where YAML may give one string for a one-item list (as lm-eval takes one path).
ONE_OR_MANY = ("include_path",)


def coerce(value: Any, tp, where: str, from_cli: bool) -> Any:
    """Check (YAML) or convert (CLI string) ``value`` to type ``tp``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or (from_cli and str(value).lower() in ("null", "none")):
            return None
        return coerce(value, [a for a in args if a is not type(None)][0], where, from_cli)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise field_error(where, f"config field {where!r}: expected a mapping of {_type_name(tp)} fields, "
                                         f"got {value!r}")
        return build_dataclass(tp, value, where + ".")
    if origin is list:
        if isinstance(value, str) and (from_cli or where.rsplit(".", 1)[-1] in ONE_OR_MANY):
            value = [value]
        if not isinstance(value, list):
            raise field_error(where, f"config field {where!r}: expected a list, got {value!r}")
        return [coerce(v, args[0], where, from_cli) for v in value]
    if origin in (dict, tuple) or tp in (dict, tuple):
        if from_cli and isinstance(value, str):
            value, from_cli = yaml.safe_load(value), False
        return _coerce_container(value, origin or tp, args, where, from_cli)
    if tp is Any:
        return value
    if from_cli and isinstance(value, list):
        if tp is bool and not value:  # a bare flag
            return True
        raise field_error(where, f"config field {where!r}: expects one value, got {len(value)}: {value}")
    try:
        if tp is bool:
            if from_cli and isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, bool):
                return value
            raise ValueError
        if tp is int:
            if isinstance(value, bool) or (not from_cli and not isinstance(value, int)):
                raise ValueError
            return int(value)
        if tp is float:
            if isinstance(value, bool) or (not from_cli and not isinstance(value, (int, float))):
                raise ValueError
            return float(value)
        if tp is str:
            if not from_cli and not isinstance(value, str):
                raise ValueError
            return str(value)
    except ValueError:
        raise field_error(where, f"config field {where!r}: expected {_type_name(tp)}, got {value!r}") from None
    return value


def _coerce_container(value, kind, args, where: str, from_cli: bool):
    """A mapping (values checked when typed, ``dict[str, float]``) or a tuple (``tuple[T, ...]`` or
    fixed ``tuple[A, B]``; a YAML list becomes a tuple)."""
    if kind is dict:
        if not isinstance(value, dict):
            raise field_error(where, f"config field {where!r}: expected a mapping, got {value!r}")
        if not args or args[1] is Any:
            return value
        return {k: coerce(v, args[1], f"{where}.{k}", from_cli) for k, v in value.items()}
    if not isinstance(value, (list, tuple)):
        raise field_error(where, f"config field {where!r}: expected a list, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(v, args[0], where, from_cli) for v in value)
    if args and len(value) != len(args):
        raise field_error(where, f"config field {where!r}: expected {len(args)} values, got {list(value)!r}")
    return tuple(coerce(v, a, where, from_cli) for v, a in zip(value, args)) if args else tuple(value)


def build_dataclass(cls, data: dict, prefix: str = "", cli_fields: frozenset[str] | set[str] = frozenset()):
    """``cls`` from ``data``: sections recursively; a leaf whose dotted name is in ``cli_fields`` is a
    CLI string to convert, every other leaf a typed (YAML) value to check."""
    return cls(**typed_fields(cls, data, prefix, cli_fields))


def typed_fields(cls, data: dict, prefix: str = "", cli_fields: frozenset[str] | set[str] = frozenset()) -> dict:
    """``data`` checked against the fields of the dataclass ``cls`` (unknown names get a did-you-mean
    naming ``prefix`` + the field): the keyword arguments of ``cls`` (or of ``dataclasses.replace``)."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        dotted = prefix + key
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            dash = "--" if dotted in cli_fields else ""
            hint = f" (did you mean {dash}{prefix}{close[0]}?)" if close else ""
            raise field_error(dotted, f"unknown config field '{dotted}'{hint}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            kwargs[key] = build_dataclass(tp, value, dotted + ".", cli_fields)
        else:
            kwargs[key] = coerce(value, tp, dotted, from_cli=dotted in cli_fields)
    return kwargs


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ForgetbenchError(f"config file {str(path)!r} not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ForgetbenchError(f"config file {str(path)!r}:{line}: malformed YAML ({e.problem})") from None
    if not isinstance(data, dict):
        raise ForgetbenchError(f"config file {str(path)!r}: the top level must be a mapping of fields")
    return data


def parse_cli(argv: list[str]) -> tuple[Optional[str], dict[str, Any]]:
    """``["--config", "f.yaml", "--seeds", "0", "1", "--overwrite"]`` -> ("f.yaml", {...})."""
    config_path, overrides, key = None, {}, None
    for token in argv:
        if token.startswith("--"):
            key = token[2:].replace("-", "_")
            if not key:
                raise ForgetbenchError("empty option '--'")
            overrides[key] = []
        elif key is None:
            raise ForgetbenchError(f"unexpected argument {token!r}: options look like --field value")
        else:
            overrides[key].append(token)
    if "config" in overrides:
        vals = overrides.pop("config")
        if len(vals) != 1:
            raise ForgetbenchError("--config takes exactly one file")
        config_path = vals[0]
    return config_path, {k: (v[0] if len(v) == 1 else v) for k, v in overrides.items()}


def yaml_line(path: str | Path, dotted: str) -> Optional[int]:
    """1-based line of the key ``a.b.c`` in the YAML file (None when it is not there)."""
    node, line = yaml.compose(Path(path).read_text()), None
    for part in dotted.split("."):
        match = [(k, v) for k, v in node.value if k.value == part] if isinstance(node, yaml.MappingNode) else []
        if not match:
            break
        line, node = match[0][0].start_mark.line + 1, match[0][1]
    return line


@contextmanager
def yaml_located(path: str | Path | None, cli_fields=()):
    """A field error raised inside is re-raised naming the YAML file and the field's line (not one
    about a field, or a section, given on the command line: ``cli_fields``)."""
    try:
        yield
    except ForgetbenchError as e:
        where = getattr(e, "field", None)
        if path is None or where is None or any(where == c or where.startswith(c + ".") for c in cli_fields):
            raise
        line = yaml_line(path, where)
        raise ForgetbenchError(f"config file {str(path)!r}:{f' line {line}:' if line else ''} {e}") from None
