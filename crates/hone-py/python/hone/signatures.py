"""Signatures in DSPy's two forms: a string (``"context: list[str], question -> answer"``)
and a class (``class QA(hone.Signature)`` with a docstring, type hints and
``InputField``/``OutputField``). hone's core parses and validates both."""

from __future__ import annotations

import enum
import inspect
import sys
import typing
from typing import Any

from . import _hone

_NONE = type(None)


class _FieldInfo:
    """What ``InputField`` / ``OutputField`` return: the field's role, description and prefix."""

    __slots__ = ("role", "desc", "prefix", "annotation", "type_declared")

    def __init__(self, role: str, desc: str | None = None, prefix: str | None = None) -> None:
        self.role = role
        self.desc = desc
        self.prefix = prefix
        self.annotation: Any = str
        # False for a string signature's field written without a type.
        self.type_declared = True

    def __repr__(self) -> str:
        kind = "InputField" if self.role == "input" else "OutputField"
        return f"{kind}(desc={self.desc!r}, prefix={self.prefix!r})"


def InputField(*, desc: str | None = None, prefix: str | None = None) -> Any:  # noqa: N802
    """An input field of a class-form signature: its description and prompt prefix."""
    return _FieldInfo("input", desc, prefix)


def OutputField(*, desc: str | None = None, prefix: str | None = None) -> Any:  # noqa: N802
    """An output field of a class-form signature: its description and prompt prefix."""
    return _FieldInfo("output", desc, prefix)


def _is_model(tp: Any) -> bool:
    return inspect.isclass(tp) and hasattr(tp, "model_json_schema") and hasattr(tp, "model_fields")


def _has_model(tp: Any) -> bool:
    if _is_model(tp):
        return True
    return any(_has_model(a) for a in typing.get_args(tp))


def annotation_name(tp: Any) -> str:
    """The annotation as DSPy names it in prompts (``list[str]``, ``Literal['a', 'b']``)."""
    if isinstance(tp, str):
        return tp
    if tp is Any:
        return "Any"
    if tp is _NONE or tp is None:
        return "None"
    if inspect.isclass(tp) and issubclass(tp, enum.Enum):
        return tp.__name__   # a named enum, as DSPy shows it: `(Level)`
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is None:
        return getattr(tp, "__name__", str(tp))
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        rest = [a for a in args if a is not _NONE]
        if len(rest) == 1 and len(args) == 2:
            return f"Optional[{annotation_name(rest[0])}]"
        return "Union[" + ", ".join(annotation_name(a) for a in args) + "]"
    name = getattr(origin, "__name__", str(origin))
    return f"{name}[" + ", ".join(annotation_name(a) for a in args) + "]"


def _enum_classes(tp: Any, out: dict[str, Any]) -> dict[str, Any]:
    """The ``enum.Enum`` classes an annotation names, described for hone's core."""
    if inspect.isclass(tp) and issubclass(tp, enum.Enum):
        doc = tp.__dict__.get("__doc__")
        out[tp.__name__] = {
            "name": tp.__name__,
            "description": inspect.cleandoc(doc) if doc else None,
            "members": [{"name": m.name, "value": m.value} for m in tp],
        }
    for arg in typing.get_args(tp):
        _enum_classes(arg, out)
    return out


def _field_spec(name: str, info: _FieldInfo) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "annotation": annotation_name(info.annotation)}
    enums = _enum_classes(info.annotation, {})
    if enums:
        spec["enums"] = [{k: v for k, v in e.items() if v is not None} for e in enums.values()]
    if _has_model(info.annotation):
        from pydantic import TypeAdapter  # only signatures with models need pydantic

        spec["schema"] = TypeAdapter(info.annotation).json_schema()
    if info.desc is not None:
        spec["desc"] = info.desc
    if info.prefix is not None:
        spec["prefix"] = info.prefix
    if not info.type_declared:
        spec["type_declared"] = False
    return spec


class SignatureMeta(type):
    """Builds hone's signature when a class-form signature is defined; ``Signature("a -> b")``
    makes one from the string form."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is Signature and args and isinstance(args[0], (str, dict)):
            return make_signature(*args, **kwargs)
        return super().__call__(*args, **kwargs)

    def __new__(mcs, name: str, bases: tuple, namespace: dict[str, Any], **kwargs: Any) -> Any:
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        if namespace.get("_hone_skip"):
            return cls
        fields: dict[str, _FieldInfo] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "_fields", {}) or {})
        hints = namespace.get("__annotations__", {})
        # Where the class statement ran: string annotations (``from __future__ import
        # annotations``) may name its local classes, as pydantic allows.
        caller = sys._getframe(1)
        scope = {**caller.f_globals, **caller.f_locals}
        del caller
        for field_name, hint in hints.items():
            info = namespace.get(field_name)
            if not isinstance(info, _FieldInfo):
                if field_name.startswith("_"):
                    continue
                raise TypeError(
                    f"signature `{name}`: field `{field_name}` needs `= hone.InputField()` or "
                    "`= hone.OutputField()`"
                )
            declared = info.type_declared
            info = _FieldInfo(info.role, info.desc, info.prefix)
            info.type_declared = declared
            info.annotation = _resolve(hint, namespace, scope)
            fields[field_name] = info
        for field_name, info in namespace.items():
            if isinstance(info, _FieldInfo) and field_name not in hints:
                raise TypeError(
                    f"signature `{name}`: field `{field_name}` has no type annotation; write "
                    f"`{field_name}: str = hone.{'InputField' if info.role == 'input' else 'OutputField'}()`"
                )
        cls._fields = fields
        if not fields:
            cls._hone = None
            return cls
        doc = namespace.get("__doc__")
        spec = {
            "name": name,
            "instructions": inspect.cleandoc(doc) if doc else None,
            "inputs": [_field_spec(n, f) for n, f in fields.items() if f.role == "input"],
            "outputs": [_field_spec(n, f) for n, f in fields.items() if f.role == "output"],
        }
        cls._hone = _hone.parse_signature(spec)
        return cls

    # DSPy's class-level accessors.
    @property
    def instructions(cls) -> str:
        return cls._hone["instructions"]

    @property
    def input_fields(cls) -> dict[str, _FieldInfo]:
        return {n: f for n, f in cls._fields.items() if f.role == "input"}

    @property
    def output_fields(cls) -> dict[str, _FieldInfo]:
        return {n: f for n, f in cls._fields.items() if f.role == "output"}

    @property
    def fields(cls) -> dict[str, _FieldInfo]:
        return dict(cls._fields)

    @property
    def signature(cls) -> str:
        return (
            ", ".join(cls.input_fields) + " -> " + ", ".join(cls.output_fields)
        )

    def __repr__(cls) -> str:
        if getattr(cls, "_hone", None) is None:
            return f"<signature base {cls.__name__}>"
        return f"{cls.__name__}({cls.signature}\n    instructions={cls.instructions!r})"


def _resolve(hint: Any, namespace: dict[str, Any], scope: dict[str, Any]) -> Any:
    if isinstance(hint, str):
        module = namespace.get("__module__")
        globs = dict(vars(sys.modules[module])) if module in sys.modules else {}
        globs.update(scope)
        try:
            return eval(hint, globs, dict(namespace))  # noqa: S307 - a type annotation
        except Exception:
            return hint
    return hint


class Signature(metaclass=SignatureMeta):
    """A task's typed inputs and outputs plus its instructions (DSPy's ``dspy.Signature``).

    >>> class QA(hone.Signature):
    ...     '''Answer the question with a number.'''
    ...     question: str = hone.InputField()
    ...     answer: int = hone.OutputField(desc="a whole number")
    """

    _hone_skip = True
    _fields: dict[str, _FieldInfo] = {}
    _hone: dict[str, Any] | None = None

    @classmethod
    def with_instructions(cls, instructions: str) -> type[Signature]:
        """The same fields with other instructions."""
        return _from_parts(cls.__name__, instructions, cls._fields)

    @classmethod
    def append(cls, name: str, field: Any, type_: Any = None) -> type[Signature]:
        """The signature with one more field at the end of its role's fields."""
        return cls._insert(name, field, type_, at_end=True)

    @classmethod
    def prepend(cls, name: str, field: Any, type_: Any = None) -> type[Signature]:
        """The signature with one more field at the start of its role's fields."""
        return cls._insert(name, field, type_, at_end=False)

    @classmethod
    def delete(cls, name: str) -> type[Signature]:
        """The signature without field ``name``."""
        fields = {n: f for n, f in cls._fields.items() if n != name}
        return _from_parts(cls.__name__, cls.instructions, fields)

    @classmethod
    def _insert(cls, name: str, field: Any, type_: Any, at_end: bool) -> type[Signature]:
        if not isinstance(field, _FieldInfo):
            raise TypeError("pass hone.InputField(...) or hone.OutputField(...)")
        info = _FieldInfo(field.role, field.desc, field.prefix)
        info.annotation = type_ if type_ is not None else str
        same = [(n, f) for n, f in cls._fields.items() if f.role == info.role]
        other = [(n, f) for n, f in cls._fields.items() if f.role != info.role]
        same = same + [(name, info)] if at_end else [(name, info)] + same
        ordered = dict(same + other) if info.role == "input" else dict(other + same)
        return _from_parts(cls.__name__, cls.instructions, ordered)


def _from_parts(name: str, instructions: str | None, fields: dict[str, _FieldInfo]) -> type[Signature]:
    namespace: dict[str, Any] = {"__doc__": instructions, "__annotations__": {}}
    for n, f in fields.items():
        namespace["__annotations__"][n] = f.annotation
        copy = _FieldInfo(f.role, f.desc, f.prefix)
        copy.type_declared = f.type_declared
        namespace[n] = copy
    return SignatureMeta(name, (Signature,), namespace)


def _from_core(core: dict[str, Any], instructions: str | None = None) -> type[Signature]:
    fields: dict[str, _FieldInfo] = {}
    for role, key in (("input", "inputs"), ("output", "outputs")):
        for f in core[key]:
            info = _FieldInfo(role, f["description"], f["prefix"])
            info.annotation = f["type"].get("annotation") or "str"
            info.type_declared = f.get("type_declared", True)
            fields[f["name"]] = info
    name = core.get("name") or "StringSignature"
    namespace: dict[str, Any] = {"__doc__": instructions or core["instructions"], "_hone_skip": True}
    cls = SignatureMeta(name, (Signature,), namespace)
    cls._fields = fields
    if instructions is not None:
        core = dict(core, instructions=instructions)
    cls._hone = core
    return cls


def make_signature(spec: str | dict, instructions: str | None = None) -> type[Signature]:
    """A signature class from DSPy's string form, with optional instructions."""
    if isinstance(spec, dict):
        return _from_parts("StringSignature", instructions, spec)
    return _from_core(_hone.parse_signature(spec), instructions)


def ensure_signature(signature: Any) -> type[Signature]:
    """``signature`` as a signature class (strings are parsed)."""
    if isinstance(signature, str):
        return make_signature(signature)
    if inspect.isclass(signature) and issubclass(signature, Signature) and signature._hone:
        return signature
    raise TypeError(
        "a signature is a string like 'question -> answer' or a hone.Signature subclass, not "
        f"{signature!r}"
    )
