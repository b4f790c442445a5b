r"""The `filterQuery` language of the Model Registry API, parsed into a small tree.

Grammar (as upstream's `internal/db/filter` accepts it; keywords are case-insensitive):

    query      := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := term ("AND" term)*
    term       := "(" or_expr ")" | comparison
    comparison := property ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE") value
                | property "IN" "(" value ("," value)* ")"
    property   := (identifier | `back-quoted name`) ["." ("string_value" | "int_value"
                  | "double_value" | "bool_value")]
    value      := 'string' | "string" | integer | float | true | false

Strings take backslash escapes (`\'`, `\"`, `\\`). Every error names the 1-based position
in the query where parsing stopped, so a client can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_QUERY_LENGTH = 4096
MAX_DEPTH = 32
VALUE_TYPES = ("string_value", "int_value", "double_value", "bool_value")
COMPARATORS = ("=", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "ILIKE")
INT64 = 2**63

Value = str | int | float | bool

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<float>[-+]?(?:\d*\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+))
  | (?P<int>[-+]?\d+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<quoted>`(?:[^`\\]|\\.)*`)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>>=|<=|!=|<>|=|>|<)
  | (?P<punct>[().,])
    """,
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")


class FilterSyntaxError(ValueError):
    """A query that does not parse; `position` is 1-based."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(f"at position {position}: {message}")
        self.position = position


@dataclass(frozen=True)
class Comparison:
    """`property[.value_type] operator value(s)`; `values` has one item except for IN."""

    property: str
    value_type: str | None
    operator: str
    values: tuple[Value, ...]
    position: int


@dataclass(frozen=True)
class Logical:
    """`left AND right` or `left OR right`."""

    operator: str
    left: Node
    right: Node


Node = Comparison | Logical


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int  # 1-based

    @property
    def keyword(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def _tokens(query: str) -> list[_Token]:
    tokens, offset = [], 0
    while offset < len(query):
        match = _TOKEN.match(query, offset)
        if match is None:
            raise FilterSyntaxError(offset + 1, f"unexpected character {query[offset]!r}")
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup or "", match.group(), offset + 1))
        offset = match.end()
    tokens.append(_Token("end", "", len(query) + 1))
    return tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokens(query)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.current
        self.index += 1
        return token

    def fail(self, expected: str) -> FilterSyntaxError:
        token = self.current
        found = "the end of the query" if token.kind == "end" else repr(token.text)
        return FilterSyntaxError(token.position, f"expected {expected}, found {found}")

    def expect(self, text: str) -> None:
        if self.current.text != text:
            raise self.fail(repr(text))
        self.take()

    def query(self) -> Node:
        node = self.or_expr(0)
        if self.current.kind != "end":
            raise self.fail("AND, OR or the end of the query")
        return node

    def or_expr(self, depth: int) -> Node:
        return self.chain("OR", self.and_expr, depth)

    def and_expr(self, depth: int) -> Node:
        return self.chain("AND", self.term, depth)

    def chain(self, keyword: str, operand: Callable[[int], Node], depth: int) -> Node:
        """`operand (keyword operand)*`, grouped from the left; AND binds tighter than OR
        because `or_expr` chains `and_expr`s."""
        node = operand(depth)
        while self.current.keyword == keyword:
            self.take()
            node = Logical(keyword, node, operand(depth))
        return node

    def term(self, depth: int) -> Node:
        if self.current.text != "(":
            return self.comparison()
        if depth >= MAX_DEPTH:
            raise FilterSyntaxError(self.current.position, f"more than {MAX_DEPTH} nested '('")
        self.take()
        node = self.or_expr(depth + 1)
        self.expect(")")
        return node

    def comparison(self) -> Comparison:
        start = self.current.position
        name, value_type = self.property()
        operator = self.current.keyword or self.current.text
        if self.current.kind not in ("op", "word") or operator not in (*COMPARATORS, "IN"):
            raise self.fail("a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN)")
        self.take()
        if operator != "IN":
            return Comparison(name, value_type, operator, (self.value(),), start)
        self.expect("(")
        values = [self.value()]
        while self.current.text == ",":
            self.take()
            values.append(self.value())
        self.expect(")")
        return Comparison(name, value_type, operator, tuple(values), start)

    def property(self) -> tuple[str, str | None]:
        token = self.current
        if token.kind == "quoted":
            name = _ESCAPE.sub(r"\1", token.text[1:-1])
        elif token.kind == "word" and token.keyword not in ("AND", "OR", "IN", "LIKE", "ILIKE"):
            name = token.text
        else:
            raise self.fail("a property name")
        if not name:
            raise FilterSyntaxError(token.position, "empty property name")
        self.take()
        if self.current.text != ".":
            return name, None
        self.take()
        value_type = self.current.text.lower()
        if self.current.kind != "word" or value_type not in VALUE_TYPES:
            raise self.fail(f"one of {', '.join(VALUE_TYPES)} after '.'")
        self.take()
        return name, value_type

    def value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return _ESCAPE.sub(r"\1", token.text[1:-1])
        if token.kind == "int":
            number = int(token.text)
            if not -INT64 <= number < INT64:
                raise FilterSyntaxError(token.position, f"{token.text} is outside 64-bit integers")
            return number
        if token.kind == "float":
            return float(token.text)
        if token.keyword in ("TRUE", "FALSE"):
            return token.keyword == "TRUE"
        self.index -= 1
        raise self.fail("a value (a quoted string, a number, true or false)")


def parse(query: str) -> Node | None:
    """The tree of a filter query; None when it is blank. Raises `FilterSyntaxError`."""
    if not query.strip():
        return None
    if len(query) > MAX_QUERY_LENGTH:
        raise FilterSyntaxError(MAX_QUERY_LENGTH + 1, f"longer than {MAX_QUERY_LENGTH} characters")
    return _Parser(query).query()
