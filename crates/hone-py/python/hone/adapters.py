"""Adapters by DSPy's names: pass one as ``adapter=`` to a call or an evaluation."""

from __future__ import annotations


class Adapter:
    """An adapter of hone's core, by name."""

    name = "chat"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ChatAdapter(Adapter):
    """DSPy's ChatAdapter: ``[[ ## field ## ]]`` sections (the default)."""

    name = "chat"


class JSONAdapter(Adapter):
    """DSPy's JSONAdapter: a JSON object answer, sent with ``response_format``."""

    name = "json"


class XMLAdapter(Adapter):
    """DSPy's XMLAdapter: ``<field>`` elements."""

    name = "xml"


class BAMLAdapter(Adapter):
    """DSPy's BAMLAdapter: a JSON object answer, each output type shown as a compact BAML-style
    schema with field descriptions as ``#`` comments; model-typed inputs as indented JSON."""

    name = "baml"
