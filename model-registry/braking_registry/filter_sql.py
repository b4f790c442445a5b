"""A parsed `filterQuery` as an SQLite condition over the `resources` / `properties` tables.

Columns of the resource row (`id`, `name`, `externalId`, the two times and the parent id)
compare directly. Every other name is a property row: a well-known field of the resource
(`state`, `author`, `uri`...) or, for any other name, a custom property. A property
comparison becomes `id IN (SELECT resource_id FROM properties WHERE name = ? AND custom = ?
AND <value column> <op> ?)`, which SQLite answers from one of the `properties_by_*` indexes
(a range scan for `=`, `<`, `>`, `IN`, a prefix `LIKE`). Without an explicit `.xxx_value`
suffix the literal chooses the column, as upstream does: a string compares `string_value`, a
number compares both `int_value` and `double_value`, true/false compares `bool_value`.

`ILIKE`, a `LIKE` pattern starting with a wildcard and `!=` cannot use the index and scan the
property's rows (still only that one property's rows, not every resource).
"""

from __future__ import annotations

from dataclasses import dataclass

from braking_registry.filter_query import Comparison, FilterSyntaxError, Logical, Node, Value

SQL_OPERATORS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LITERAL_COLUMNS: dict[type, tuple[str, ...]] = {str: ("string_value",), bool: ("bool_value",)}
_NUMBER_COLUMNS = ("int_value", "double_value")


@dataclass(frozen=True)
class FilterFields:
    """What a resource kind exposes to filters: its row columns and its well-known fields."""

    columns: dict[str, tuple[str, type]]  # API name -> (SQL column, int or str)
    well_known: frozenset[str]


@dataclass(frozen=True)
class Condition:
    """An SQL boolean expression and its parameters."""

    sql: str
    params: tuple[object, ...]


def _error(comparison: Comparison, message: str) -> FilterSyntaxError:
    return FilterSyntaxError(comparison.position, f"{comparison.property}: {message}")


def _column_value(comparison: Comparison, value: Value, python_type: type) -> Value:
    if python_type is int and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # ids travel as strings in the API: registeredModelId = '3'
    if isinstance(value, bool) or not isinstance(value, python_type):
        kind = "integers" if python_type is int else "quoted strings"
        raise _error(comparison, f"compares with {kind}, got {value!r}")
    return value


def _column_condition(comparison: Comparison, column: str, python_type: type) -> Condition:
    if comparison.operator in ("LIKE", "ILIKE") and python_type is not str:
        raise _error(comparison, f"{comparison.operator} needs a string property")
    values = tuple(_column_value(comparison, v, python_type) for v in comparison.values)
    return _typed_condition(comparison, column, values)


def _value_columns(comparison: Comparison) -> tuple[str, ...]:
    if comparison.value_type:
        return (comparison.value_type,)
    first = comparison.values[0]
    numbers = all(_is_number(value) for value in comparison.values)
    if not numbers and any(type(value) is not type(first) for value in comparison.values):
        raise _error(comparison, "IN needs values of one type")
    if numbers:
        return _NUMBER_COLUMNS
    return _LITERAL_COLUMNS[type(first)]


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_values(comparison: Comparison, column: str) -> None:
    operator = comparison.operator
    for value in comparison.values:
        fits = {
            "string_value": isinstance(value, str),
            "bool_value": isinstance(value, bool),
        }.get(column, _is_number(value))
        if not fits:
            raise _error(comparison, f"{column} cannot compare with {value!r}")
    if operator in ("LIKE", "ILIKE") and column != "string_value":
        raise _error(comparison, f"{operator} needs a string value")
    if column == "bool_value" and operator not in ("=", "!=", "<>", "IN"):
        raise _error(comparison, f"booleans only compare with =, != or IN, not {operator}")


def _property_condition(comparisons: list[Comparison], custom: bool) -> Condition:
    """One indexed subquery for comparisons on one property (ANDed: `x >= 1 AND x < 2`)."""
    selects, params = [], []
    for column in _value_columns(comparisons[0]):
        tests: list[str] = []
        values: list[object] = []
        for comparison in comparisons:
            _check_values(comparison, column)
            test = _typed_condition(comparison, f"p.{column}", comparison.values)
            tests.append(test.sql)
            values += test.params
        selects.append(
            "SELECT p.resource_id FROM properties p WHERE p.name = ? AND p.custom = ? "
            f"AND {' AND '.join(tests)}"
        )
        params += [comparisons[0].property, int(custom), *values]
    return Condition(f"id IN ({' UNION ALL '.join(selects)})", tuple(params))


def _typed_condition(comparison: Comparison, column: str, values: tuple[Value, ...]) -> Condition:
    """`column <op> ?` with `values` already checked against the column's type."""
    if comparison.operator == "IN":
        return Condition(f"{column} IN ({', '.join('?' * len(values))})", values)
    if comparison.operator == "ILIKE":
        return Condition(f"lower({column}) LIKE lower(?)", values)
    operator = SQL_OPERATORS.get(comparison.operator, comparison.operator)
    return Condition(f"{column} {operator} ?", values)


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, Logical) and node.operator == "AND":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _and_condition(node: Logical, fields: FilterFields) -> Condition:
    """AND of the conjuncts; comparisons on one property share one subquery (one index
    range instead of two large ones intersected)."""
    parts: list[Condition] = []
    grouped: dict[tuple[str, tuple[str, ...]], list[Comparison]] = {}
    for conjunct in _conjuncts(node):
        if isinstance(conjunct, Comparison) and not _is_column(conjunct, fields):
            grouped.setdefault((conjunct.property, _value_columns(conjunct)), []).append(conjunct)
        else:
            parts.append(to_condition(conjunct, fields))
    for (name, _), comparisons in grouped.items():
        parts.append(_property_condition(comparisons, custom=name not in fields.well_known))
    return Condition(
        f"({' AND '.join(part.sql for part in parts)})", sum((p.params for p in parts), ())
    )


def _is_column(comparison: Comparison, fields: FilterFields) -> bool:
    return comparison.property in fields.columns and comparison.value_type is None


def to_condition(node: Node, fields: FilterFields) -> Condition:
    """The SQL condition selecting the resources `node` matches."""
    if isinstance(node, Logical) and node.operator == "AND":
        return _and_condition(node, fields)
    if isinstance(node, Logical):
        left, right = to_condition(node.left, fields), to_condition(node.right, fields)
        return Condition(f"({left.sql} OR {right.sql})", left.params + right.params)
    if _is_column(node, fields):
        return _column_condition(node, *fields.columns[node.property])
    return _property_condition([node], custom=node.property not in fields.well_known)
