"""The one walk over a pglast parse tree that the linter and its rules share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from pglast import ast

T = TypeVar("T")


def nodes_of(node: object, type_: type[T]) -> Iterator[T]:
    """Every node of ``type_`` in ``node``'s tree, ``node`` itself included, parents before
    their children (a match's own children are searched too: a call's arguments may call).
    ``node`` may be a tuple or list of nodes, as pglast keeps a node's children and as
    ``plpgsql.parse`` returns a body's statements."""
    if isinstance(node, type_):
        yield node
    if isinstance(node, ast.Node):
        for attr in node:
            yield from nodes_of(getattr(node, attr), type_)
    elif isinstance(node, tuple | list):
        for item in node:
            yield from nodes_of(item, type_)
