"""Check recorded resource inputs against the installed pulumi_aws SDK's own input types.

The mocks accept any property, the real provider does not. Every resource type has an
``*Args`` class (``@pulumi.input_type``): its getters carry the engine's camelCase names
(``pulumi.getter(name=...)``) and its annotations the accepted types, down through nested
``*Args`` classes. :func:`check` walks each recorded resource's inputs with them and reports,
at any depth: unknown property names, the wrong kind of value (string, bool, number, list,
map, object, asset), missing required properties and deprecated ones, plus ``ignore_changes``
paths that name no property. Component resources (``blueprint:...``) have no SDK type and are
skipped; providers (``pulumi:providers:aws``) get their inputs JSON-encoded by the engine, so
non-string values are decoded first.
"""

from __future__ import annotations

import difflib
import enum
import functools
import inspect
import json
import sys
import types
import typing
from collections import abc
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi import _types

from blueprint.offline.mocks import UNKNOWN_MARK
from blueprint.offline.tfplan import args_class

PROVIDER = "pulumi:providers:aws"
COMPONENT_PREFIX = "blueprint:"


@dataclass(frozen=True)
class Spec:
    """What one property accepts: a value of any of ``kinds``; ``item`` describes list
    elements, ``value`` map values, ``objs`` the input types an object may be."""

    kinds: frozenset[str]
    item: Spec | None = None
    value: Spec | None = None
    objs: tuple[type, ...] = ()


ANY = Spec(frozenset({"any"}))


@dataclass(frozen=True)
class Prop:
    py_name: str
    spec: Spec
    required: bool
    deprecated: str  # "" when not deprecated


def _members(tp: Any) -> typing.Iterator[Any]:
    """The alternatives of an annotation: unions flattened, ``Awaitable[T]`` -> T, ``Output``
    and None dropped (pulumi resolves ``Input[T]``'s ``Output[T]`` as ``Output[None]``)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(tp):
            yield from _members(arg)
    elif origin in (abc.Awaitable, typing.Awaitable):
        yield from _members(typing.get_args(tp)[0])
    elif origin is pulumi.Output or tp is pulumi.Output or tp is type(None):
        return
    else:
        yield tp


def _merge(specs: list[Spec]) -> Spec | None:
    if not specs:
        return None
    kinds = frozenset().union(*(s.kinds for s in specs))
    return Spec(kinds, _merge([s.item for s in specs if s.item]), _merge([s.value for s in specs if s.value]),
                tuple(dict.fromkeys(o for s in specs for o in s.objs)))


def spec_of(tp: Any) -> Spec:
    specs = []
    for m in _members(tp):
        origin = typing.get_origin(m)
        args = typing.get_args(m)
        if m is Any:
            specs.append(ANY)
        elif origin in (abc.Sequence, list, typing.Sequence, abc.MutableSequence):
            specs.append(Spec(frozenset({"list"}), item=spec_of(args[0]) if args else ANY))
        elif origin in (abc.Mapping, dict, typing.Mapping, abc.MutableMapping) or m is dict:
            specs.append(Spec(frozenset({"map"}), value=spec_of(args[1]) if len(args) == 2 else ANY))
        elif not isinstance(m, type):
            specs.append(ANY)
        elif m is bool:
            specs.append(Spec(frozenset({"bool"})))
        elif m is int:
            specs.append(Spec(frozenset({"int"})))
        elif m is float:
            specs.append(Spec(frozenset({"number"})))
        elif m is str or (issubclass(m, enum.Enum) and issubclass(m, str)):
            specs.append(Spec(frozenset({"str"})))
        elif issubclass(m, pulumi.Archive):
            specs.append(Spec(frozenset({"archive"})))
        elif issubclass(m, pulumi.Asset):
            specs.append(Spec(frozenset({"asset"})))
        elif _types.is_input_type(m):
            specs.append(Spec(frozenset({"object"}), objs=(m,)))
        else:
            specs.append(ANY)
    out = _merge(specs) or ANY
    if out.objs and out.value == ANY:
        # InputType[T] is ``T | Mapping[str, Any]`` (a plain dict in place of T): still T's shape.
        out = Spec(out.kinds - {"map"}, out.item, None, out.objs)
    return out


@functools.cache
def properties(cls: type) -> dict[str, Prop]:
    """Engine name -> what the input type accepts there (computed once per class)."""
    names = _types.input_type_py_to_pulumi_names(cls)
    hints = _types._raw_return_hints(cls)  # the annotations, forward references resolved
    params = inspect.signature(cls.__init__).parameters
    out = {}
    for py_name, name in names.items():
        param = params.get(py_name)
        getter = getattr(cls, py_name).fget
        deprecated = ""
        if "_pulumi_deprecated_callable" in getattr(getter, "__dict__", {}):
            deprecated = " ".join((getter.__doc__ or "deprecated").split())
        out[name] = Prop(py_name, spec_of(hints.get(name, Any)), bool(param and param.default is inspect.Parameter.empty),
                         deprecated)
    return out


@functools.cache
def resource_args(token: str) -> type | None:
    if token == PROVIDER:
        from pulumi_aws import ProviderArgs

        return ProviderArgs
    return args_class(token)


@functools.cache
def state_names(token: str) -> frozenset[str]:
    """Every property of the resource, outputs included (``ignore_changes`` may name any)."""
    cls = resource_args(token)
    if cls is None:
        return frozenset()
    state = getattr(sys.modules[cls.__module__], f"_{cls.__name__.removesuffix('InitArgs').removesuffix('Args')}State", None)
    return frozenset(properties(cls)) | frozenset(properties(state) if state else ())


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    resources: int = 0  # checked against an SDK type
    properties: int = 0  # property values checked, at every depth
    skipped: dict[str, int] = field(default_factory=dict)  # component type -> count


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "int" if float(value).is_integer() else "number"
    if isinstance(value, str):
        return "str"
    return "list" if isinstance(value, list) else "map"


class _Walker:
    def __init__(self, report: Report, where: str, provider: bool):
        self.report, self.where, self.provider = report, where, provider

    def problem(self, path: str, msg: str) -> None:
        self.report.problems.append(f"{self.where}: {path}: {msg}")

    def obj(self, cls: type, value: dict[str, Any], path: str) -> None:
        props = properties(cls)
        for key, v in value.items():
            p = f"{path}.{key}" if path else key
            prop = props.get(key)
            if prop is None:
                close = difflib.get_close_matches(key, list(props), n=1)
                self.problem(p, f"not an input of {cls.__name__}" + (f" (did you mean {close[0]!r}?)" if close else ""))
                continue
            if prop.deprecated:
                self.problem(p, f"deprecated: {prop.deprecated}")
            self.value(prop.spec, v, p)
        for key, prop in props.items():
            if prop.required and value.get(key) is None:
                self.problem(f"{path}.{key}" if path else key, f"required by {cls.__name__}, missing")

    def value(self, spec: Spec, v: Any, path: str) -> None:
        self.report.properties += 1
        if v is None or v == UNKNOWN_MARK or "any" in spec.kinds:
            return
        if self.provider and isinstance(v, str) and "str" not in spec.kinds:
            try:  # the engine hands providers every non-string input JSON-encoded
                v = json.loads(v)
            except json.JSONDecodeError:
                pass
        kind = _kind(v)
        if isinstance(v, dict) and len(v) == 1 and next(iter(v)) in ("archive", "asset"):
            kind = next(iter(v))  # how the recording writes assets and archives
            if kind in spec.kinds:
                return
        if kind == "int" and "number" in spec.kinds:
            return
        if isinstance(v, dict) and spec.objs:
            errors_before = len(self.report.problems)
            for i, cls in enumerate(spec.objs):
                self.obj(cls, v, path)
                if len(self.report.problems) == errors_before or i == len(spec.objs) - 1:
                    return
                del self.report.problems[errors_before:]  # try the next alternative
            return
        if kind not in spec.kinds:
            self.problem(path, f"is a {kind}, the SDK takes {' or '.join(sorted(spec.kinds))}")
            return
        if isinstance(v, list) and spec.item:
            for i, x in enumerate(v):
                self.value(spec.item, x, f"{path}[{i}]")
        elif isinstance(v, dict) and spec.value:
            for k, x in v.items():
                self.value(spec.value, x, f"{path}[{k!r}]")


def check(resources: list[dict[str, Any]]) -> Report:
    """Validate recorded registrations (``blueprint.offline.mocks.Registration`` as dicts)."""
    report = Report()
    for r in resources:
        token = r["type"]
        if token.startswith(COMPONENT_PREFIX):
            report.skipped[token] = report.skipped.get(token, 0) + 1
            continue
        cls = resource_args(token)
        if cls is None:
            report.problems.append(f"{token} {r['name']}: not a resource type of the installed pulumi_aws")
            continue
        report.resources += 1
        walker = _Walker(report, f"{token} {r['name']}", provider=token == PROVIDER)
        walker.obj(cls, r["inputs"], "")
        for path in r.get("ignore_changes") or ():
            top = path.split(".", 1)[0].split("[", 1)[0]
            if top not in state_names(token):
                walker.problem(f"ignore_changes {path!r}", "names no property of the resource")
    return report
