"""Which filter policies SNS accepts, and its words for the ones it refuses.

The rules and the wording are SNS's as recorded against AWS (LocalStack's
``test_sns_filter_policy.snapshot.json``; moto's own SNS tests): the first line of each
message is AWS's (AWS then adds the JSON parser's position, which the lab leaves out). Where
the documentation and the recordings disagree the recordings win: ``anything-but`` takes a
nested ``prefix`` only (``suffix`` is refused), and a ``cidr`` whose pattern is not a string
is answered with the prefix wording. The complexity is AWS's documented count: each array
counts its number of values times the depth of its key (``{"a": {"b": [4 values]}}`` counts
4 x 2), arrays multiply, and the branches of an ``$or`` add up; over 150 is refused (so AWS's
worked example of 3 x 4 x 2 x 3 x 3 = 216 is). ``$or`` is an operator only when it holds at
least two objects none of which uses an operator's name as a key; otherwise it is an
ordinary key, as SNS documents
(https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterator
from typing import Any

from melange_lab.errors import PolicyProblem

__all__ = ["PolicyProblem", "check_policy", "check_rule", "is_or", "validation_problem"]

MAX_KEYS = 5
MAX_COMBINATIONS = 150
NUMERIC_LIMIT = 1e9  # SNS matches numbers from -10^9 to 10^9
STRING_OPERATORS = ("prefix", "suffix", "equals-ignore-case")
OPERATORS = (*STRING_OPERATORS, "anything-but", "exists", "numeric", "cidr")
LOWER = (">", ">=")
UPPER = ("<", "<=")
SCOPES = ("MessageAttributes", "MessageBody")


def validation_problem(rules: Any, scope: str) -> str | None:
    """What is wrong with a policy, in SNS's words, or None when SNS accepts it."""
    try:
        check_policy(rules, scope)
    except PolicyProblem as problem:
        return str(problem)
    return None


def check_policy(rules: Any, scope: str) -> None:
    """Raises PolicyProblem unless SNS accepts ``rules`` (the parsed JSON) for ``scope``."""
    if scope not in SCOPES:
        raise PolicyProblem(
            f"FilterPolicyScope: Invalid value [{scope}]. Please use either MessageBody or "
            "MessageAttributes",
            about_policy=False,
        )
    if not isinstance(rules, dict) or not rules:
        raise PolicyProblem("Filter policy must be a non-empty JSON object")
    if any(keys > MAX_KEYS for keys in _key_counts(rules, scope)):
        raise PolicyProblem("Filter policy can not have more than 5 keys")
    if _complexity(rules, scope, depth=1) > MAX_COMBINATIONS:
        raise PolicyProblem("Filter policy is too complex")


def is_or(key: str, value: Any) -> bool:
    """Whether ``key: value`` is the ``$or`` operator (else ``$or`` is an ordinary key)."""
    return (
        key == "$or"
        and isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(branch, dict) and branch for branch in value)
        and not any(name in OPERATORS for branch in value for name in branch)
    )


def _key_counts(node: dict[str, Any], scope: str) -> Iterator[int]:
    """How many keys each alternative (each choice of ``$or`` branches) has. A body policy
    counts its top-level keys; an attribute policy has only those."""
    plain = sum(1 for key, value in node.items() if not is_or(key, value))
    branches = [value for key, value in node.items() if is_or(key, value)]
    if not branches:
        yield plain
        return
    for branch in branches[0]:
        for extra in _key_counts(branch, scope):
            yield plain + extra


def _complexity(node: dict[str, Any], scope: str, depth: int) -> int:
    """Checks every rule under ``node``; returns AWS's count of its combinations."""
    total = 1
    for key, value in node.items():
        if is_or(key, value):
            total *= sum(_complexity(branch, scope, depth) for branch in value)
        elif isinstance(value, list):
            if not value:
                raise PolicyProblem("Empty arrays are not allowed")
            for rule in value:
                check_rule(rule)
            total *= len(value) * depth
        elif isinstance(value, dict) and value:
            total *= _complexity(value, scope, depth + 1)
        else:
            raise PolicyProblem(f'"{key}" must be an object or an array')
    if scope == "MessageAttributes" and depth > 1:
        raise PolicyProblem(
            "Filter policy scope MessageAttributes does not support nested filter policy",
            about_policy=False,
        )
    return total


def check_rule(rule: Any) -> None:
    """One element of a key's array: a value or a one-operator match expression."""
    if rule is None or isinstance(rule, (str, bool)):
        return
    if isinstance(rule, (int, float)):
        _check_number(rule)
        return
    if not isinstance(rule, dict):
        raise PolicyProblem("Match value must be String, number, true, false, or null")
    if len(rule) != 1:
        raise PolicyProblem("Only one key allowed in match expression")
    ((operator, value),) = rule.items()
    if operator not in OPERATORS:
        raise PolicyProblem(f"Unrecognized match type {operator}")
    if operator in STRING_OPERATORS:
        _check_text(operator, value)
    elif operator == "exists":
        if not isinstance(value, bool):
            raise PolicyProblem("exists match pattern must be either true or false.")
    elif operator == "anything-but":
        _check_anything_but(value)
    elif operator == "numeric":
        _check_numeric(value)
    else:
        _check_cidr(value)


def _check_text(operator: str, value: Any) -> None:
    if not isinstance(value, str):
        raise PolicyProblem(f"{operator} match pattern must be a string")


def _check_number(value: float) -> None:
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > NUMERIC_LIMIT:
        raise PolicyProblem(f"Numeric value {value} is outside -1e9 to 1e9", internal=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_anything_but(value: Any) -> None:
    """A string, a number, a non-empty list of strings or of numbers, or a nested prefix."""
    if isinstance(value, str):
        return
    if _is_number(value):
        _check_number(value)
        return
    if isinstance(value, list):
        if not value:
            raise PolicyProblem("Empty arrays are not allowed")
        if all(isinstance(v, str) for v in value):
            return
        if all(_is_number(v) for v in value):
            for number in value:
                _check_number(number)
            return
        raise PolicyProblem("Inside anything but list, start|null|boolean is not supported.")
    if isinstance(value, dict) and len(value) == 1:
        ((operator, inner),) = value.items()
        if operator != "prefix":
            raise PolicyProblem(f"Unsupported anything-but pattern: {operator}")
        _check_text(operator, inner)
        return
    raise PolicyProblem("Value of anything-but must be an array or single string/number value.")


def _check_numeric(value: Any) -> None:
    """[op, n] or [>|>=, low, <|<=, high], read term by term as SNS reads them."""
    terms = value if isinstance(value, list) else [value]
    if not terms or not isinstance(terms[0], str):
        shown = "]" if not terms else _token(terms[0])
        raise PolicyProblem(f"Invalid member in numeric match: {shown}")
    first = terms[0]
    if first not in ("=", *LOWER, *UPPER):
        raise PolicyProblem(f"Unrecognized numeric range operator: {first}")
    low = _numeric_value(first, terms, 1)
    if len(terms) == 2:
        return
    if first not in LOWER:
        raise PolicyProblem("Too many elements in numeric expression")
    second = terms[2]
    if not isinstance(second, str):
        raise PolicyProblem(f"Bad value in numeric range: {_token(second)}")
    if second not in UPPER:
        raise PolicyProblem(f"Bad numeric range operator: {second}")
    high = _numeric_value(second, terms, 3)
    if len(terms) > 4:
        raise PolicyProblem("Too many terms in numeric range expression")
    if not low < high:
        raise PolicyProblem("Bottom must be less than top")


def _numeric_value(operator: str, terms: list[Any], index: int) -> float:
    value: Any = terms[index] if len(terms) > index else None
    if not _is_number(value):
        name = "equals" if operator == "=" else operator
        raise PolicyProblem(f"Value of {name} must be numeric")
    _check_number(value)
    return float(value)


def _token(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _check_cidr(value: Any) -> None:
    if not isinstance(value, str):
        raise PolicyProblem("prefix match pattern must be a string")
    if value.count("/") != 1:
        raise PolicyProblem("Malformed CIDR, one '/' required")
    address, bits = value.split("/")
    if not bits.isdigit():
        raise PolicyProblem("Malformed CIDR, mask bits must be an integer")
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PolicyProblem(f"Nonstandard IP address: {address}") from None
