"""SNS filter policies: SNS's grammar and matching, for the lab and for moto's own deliveries.

moto 5.2's validator refuses operators SNS accepts (``cidr``) and accepts policies SNS
refuses (``{"prefix": 5}``, an empty list, nested ``anything-but`` forms); its matcher crashes
on ``$or`` in a MessageBody policy, never lets ``anything-but`` match a body array that holds
another value, and treats a String attribute holding JSON as an array. Teaching a wrong rule
does harm, so the lab checks and matches policies here, by AWS's documentation
(https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html and the pages it links),
and ``install_filter_policies`` makes moto's SNS validate and match with the same functions,
so what the lab predicts is what every path (the lab, plain boto3) delivers.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import SNSBackend
from moto.sns.utils import FilterPolicyMatcher

from melange_lab.errors import PolicyProblem
from melange_lab.moto_internals.patching import _Layer, _set_feature

MAX_KEYS = 5
MAX_COMBINATIONS = 150
NUMERIC_LIMIT = 1e9  # SNS matches numbers from -10^9 to 10^9
_STRING_OPERATORS = ("prefix", "suffix", "equals-ignore-case")
_OPERATORS = (*_STRING_OPERATORS, "anything-but", "exists", "numeric", "cidr")
_LOWER = (">", ">=")
_UPPER = ("<", "<=")


class _Number(float):
    """A Number attribute's value: compared as a number, and as its text by string rules."""

    text: str

    def __new__(cls, value: float, text: str) -> _Number:
        number = super().__new__(cls, value)
        number.text = text
        return number


# --- validation -----------------------------------------------------------------------------


def validation_problem(rules: Any, scope: str) -> str | None:
    """What is wrong with a policy, in SNS's words, or None when SNS accepts it."""
    try:
        check_policy(rules, scope)
    except PolicyProblem as problem:
        return str(problem)
    return None


def check_policy(rules: Any, scope: str) -> None:
    """Raises PolicyProblem unless SNS accepts ``rules`` (the parsed JSON) for ``scope``."""
    if scope not in ("MessageAttributes", "MessageBody"):
        raise PolicyProblem(f"FilterPolicyScope {scope!r} is not MessageAttributes or MessageBody")
    if not isinstance(rules, dict) or not rules:
        raise PolicyProblem("a filter policy must be a non-empty JSON object")
    for keys in _key_sets(rules):
        if keys > MAX_KEYS:
            raise PolicyProblem("Filter policy can not have more than 5 keys")
    if _combinations(rules, scope, depth=1) > MAX_COMBINATIONS:
        raise PolicyProblem("Filter policy is too complex")


def _key_sets(node: dict[str, Any]) -> Iterator[int]:
    """How many keys each alternative of the policy (each choice of ``$or`` branch) has."""
    plain = sum(_leaf_keys(value) for key, value in node.items() if key != "$or")
    branches = node.get("$or")
    if not isinstance(branches, list) or not branches:
        yield plain
        return
    for branch in branches:
        if isinstance(branch, dict):
            for extra in _key_sets(branch):
                yield plain + extra


def _leaf_keys(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaf_keys(v) for k, v in value.items() if k != "$or") or 1
    return 1


def _combinations(node: dict[str, Any], scope: str, depth: int) -> int:
    """Checks every rule under ``node``; returns the product of its value counts ($or: sums)."""
    total = 1
    for key, value in node.items():
        if key == "$or":
            total *= _or_combinations(value, scope, depth)
        elif isinstance(value, list):
            if not value:
                raise PolicyProblem("Empty arrays are not allowed")
            for rule in value:
                _check_rule(rule)
            total *= len(value)
        elif isinstance(value, dict):
            if scope == "MessageAttributes":
                raise PolicyProblem(
                    "Filter policy scope MessageAttributes does not support nested filter policy"
                )
            if not value:
                raise PolicyProblem(f'"{key}" must be a non-empty object or an array')
            total *= _combinations(value, scope, depth + 1)
        else:
            raise PolicyProblem(f'"{key}" must be an object or an array')
    return total


def _or_combinations(branches: Any, scope: str, depth: int) -> int:
    if not isinstance(branches, list) or len(branches) < 2:
        raise PolicyProblem('"$or" must be an array of at least two objects')
    total = 0
    for branch in branches:
        if not isinstance(branch, dict) or not branch:
            raise PolicyProblem('every "$or" branch must be a non-empty object')
        total += _combinations(branch, scope, depth)
    return total


def _check_rule(rule: Any) -> None:
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
    if operator not in _OPERATORS:
        raise PolicyProblem(f"Unrecognized match type {operator}")
    if operator in _STRING_OPERATORS:
        if not isinstance(value, str):
            raise PolicyProblem(f"{operator} match pattern must be a string")
    elif operator == "exists":
        if not isinstance(value, bool):
            raise PolicyProblem("exists match pattern must be either true or false.")
    elif operator == "anything-but":
        _check_anything_but(value)
    elif operator == "numeric":
        _check_numeric(value)
    else:
        _check_cidr(value)


def _check_number(value: float) -> None:
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > NUMERIC_LIMIT:
        raise PolicyProblem(f"Numeric value {value} is outside -1e9 to 1e9")


def _check_anything_but(value: Any) -> None:
    """A string, a number, a non-empty list of strings or of numbers, or one prefix/suffix."""
    if isinstance(value, bool) or value is None:
        raise PolicyProblem("Value of anything-but must be an array or single string/number value.")
    if isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        _check_number(value)
        return
    if isinstance(value, list):
        if not value:
            raise PolicyProblem("Empty arrays are not allowed")
        if all(isinstance(v, str) for v in value):
            return
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            for number in value:
                _check_number(number)
            return
        raise PolicyProblem("Inside anything but list, start|null|boolean is not supported.")
    if isinstance(value, dict) and len(value) == 1:
        ((operator, inner),) = value.items()
        if operator in ("prefix", "suffix"):
            if not isinstance(inner, str) or not inner:
                raise PolicyProblem(f"{operator} match pattern must be a non-empty string")
            return
        raise PolicyProblem(f"Unsupported anything-but pattern: {operator}")
    raise PolicyProblem("Value of anything-but must be an array or single string/number value.")


def _check_numeric(value: Any) -> None:
    """["=", n], [op, n] or [>|>=, low, <|<=, high] with low < high, numbers within ±1e9."""
    if not isinstance(value, list) or len(value) not in (2, 4):
        raise PolicyProblem("numeric must be [operator, number] or a range of two of them")
    pairs = [(value[i], value[i + 1]) for i in range(0, len(value), 2)]
    for operator, number in pairs:
        if operator not in ("=", *_LOWER, *_UPPER):
            raise PolicyProblem(f"Unrecognized numeric range operator: {operator}")
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            name = "equals" if operator == "=" else operator
            raise PolicyProblem(f"Value of {name} must be numeric")
        _check_number(number)
    if len(pairs) == 2:
        (low_op, low), (high_op, high) = pairs
        if low_op not in _LOWER:
            raise PolicyProblem("Too many elements in numeric expression")
        if high_op not in _UPPER:
            raise PolicyProblem(f"Bad numeric range operator: {high_op}")
        if not low < high:
            raise PolicyProblem("Bottom must be less than top")


def _check_cidr(value: Any) -> None:
    if not isinstance(value, str):
        raise PolicyProblem("cidr match pattern must be a string")
    if value.count("/") != 1:
        raise PolicyProblem("Malformed CIDR, one '/' required")
    address, bits = value.split("/")
    if not bits.isdigit():
        raise PolicyProblem("Malformed CIDR, mask bits must be an integer")
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PolicyProblem(f"Nonstandard IP address: {address}") from None


# --- matching -------------------------------------------------------------------------------

_Lookup = Callable[[str], "list[Any] | None"]  # a key's values, or None when it is absent


def matches(
    rules: dict[str, Any], scope: str, attributes: dict[str, dict[str, str]], body: str
) -> bool:
    """Whether SNS delivers a message with these boto3-shaped attributes and this body."""
    sns_attributes = {
        name: {"Type": value.get("DataType", "String"), "Value": value.get("StringValue")}
        for name, value in attributes.items()
    }
    return matches_sns(rules, scope, sns_attributes, body)


def matches_sns(
    rules: dict[str, Any], scope: str, attributes: dict[str, dict[str, Any]] | None, body: str
) -> bool:
    """The same, with attributes as SNS's Publish hands them on: {"Type", "Value"}."""
    if not rules:
        return True
    if scope == "MessageBody":
        try:
            document = json.loads(body)
        except (TypeError, ValueError, RecursionError):  # not JSON, or nested too deeply
            return False  # a MessageBody policy never matches a body that is not a JSON object
        return isinstance(document, dict) and _object_matches(rules, [document])
    present = attributes or {}
    return _attributes_match(rules, present)


def mismatch(
    rules: dict[str, Any], scope: str, attributes: dict[str, dict[str, Any]] | None, body: str
) -> str | None:
    """Why SNS keeps this message out of the subscription, in plain words naming each rule it
    failed, or None when it is delivered. Each rule of the policy is evaluated once: this is
    the one evaluation the simulated broker makes per subscription and publish.

    ``attributes`` as SNS's Publish hands them on: {"Type", "Value"}.
    """
    if not rules:
        return None
    if scope == "MessageBody":
        try:
            document = json.loads(body)
        except RecursionError:
            return "the body is JSON nested too deeply to read, so no MessageBody policy matches it"
        except (TypeError, ValueError):
            return "the body is not JSON, so a MessageBody policy cannot match it"
        if not isinstance(document, dict):
            return "the body is not a JSON object, so a MessageBody policy cannot match it"
        failed = [key for key in rules if not _object_matches({key: rules[key]}, [document])]
        return "; ".join(_why_body_key(key, rules[key], document) for key in failed) or None
    present = attributes or {}
    failed = [key for key in rules if not _attributes_match({key: rules[key]}, present)]
    return "; ".join(_why_attribute_key(key, rules[key], present) for key in failed) or None


def _why_attribute_key(key: str, rule: Any, attributes: dict[str, dict[str, Any]]) -> str:
    wanted = json.dumps(rule)
    if key == "$or":
        return f"none of the $or alternatives {wanted} matched"
    if key not in attributes:
        return f"message attribute '{key}' is missing; the policy wants {wanted}"
    return (
        f"message attribute '{key}' is {attributes[key].get('Value')!r}; the policy wants {wanted}"
    )


def _why_body_key(key: str, rule: Any, document: dict[str, Any]) -> str:
    wanted = json.dumps(rule)
    if key == "$or":
        return f"none of the $or alternatives {wanted} matched"
    if key not in document:
        return f"body field '{key}' is missing; the policy wants {wanted}"
    return f"body field '{key}' is {json.dumps(document[key])}; the policy wants {wanted}"


def _attributes_match(rules: dict[str, Any], attributes: dict[str, dict[str, Any]]) -> bool:
    for key, rule in rules.items():
        if key == "$or":
            if not any(_attributes_match(branch, attributes) for branch in rule):
                return False
        elif not _leaf_matches(rule, _attribute_values(attributes.get(key)), bool(attributes)):
            return False
    return True


def _attribute_values(attribute: dict[str, Any] | None) -> list[Any] | None:
    """What a policy compares: a String as text, a Number as a number, each element of a
    String.Array; a Binary attribute exists but has no value to compare."""
    if attribute is None:
        return None
    kind, value = str(attribute.get("Type", "String")), attribute.get("Value")
    if kind.startswith("Binary"):
        return []
    if kind.startswith("Number"):
        number = _as_number(value)
        return [] if number is None else [_Number(number, str(value))]
    if kind.startswith("String.Array"):
        try:
            elements = json.loads(str(value))
        except (ValueError, RecursionError):
            return []
        return elements if isinstance(elements, list) else [elements]
    return [str(value)]


def _object_matches(rules: dict[str, Any], nodes: list[Any]) -> bool:
    """``nodes`` are the JSON values at this level (several when the path crossed arrays)."""
    for key, rule in rules.items():
        if key == "$or":
            if not any(_object_matches(branch, nodes) for branch in rule):
                return False
            continue
        children = [
            child
            for node in nodes
            if isinstance(node, dict) and key in node
            for child in _flatten(node[key])
        ]
        present = any(isinstance(node, dict) and key in node for node in nodes)
        if isinstance(rule, dict):
            if not present or not _object_matches(rule, children):
                return False
        elif not _leaf_matches(rule, children if present else None, True):
            return False
    return True


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for element in value for item in _flatten(element)]
    return [value]


def _leaf_matches(conditions: list[Any], values: list[Any] | None, any_present: bool) -> bool:
    """One key: some condition holds for some value (``values`` None: the key is absent)."""
    for condition in conditions:
        if isinstance(condition, dict) and "exists" in condition:
            if condition["exists"]:
                if values is not None and any(v is not None and v != "" for v in values):
                    return True
            elif values is None and any_present:
                # "exists": false needs at least one other attribute (SNS's documented rule)
                return True
        elif values and any(_value_matches(condition, value) for value in values):
            return True
    return False


def _value_matches(condition: Any, value: Any) -> bool:
    if isinstance(value, _Number) and isinstance(condition, str):
        return value.text == condition  # SNS compares a Number attribute's text with a string
    if not isinstance(condition, dict):
        if isinstance(condition, (int, float)) and not isinstance(condition, bool):
            number = value if _is_number(value) else None
            return number is not None and _same_number(number, condition)
        return bool(value == condition and type(value) is type(condition))
    ((operator, operand),) = condition.items()
    if operator == "numeric":
        # a number, or text that reads as one (attribute values travel as text)
        number = float(value) if _is_number(value) else _as_number(value)
        return number is not None and not isinstance(value, bool) and _in_range(number, operand)
    if operator == "anything-but":
        return _anything_but(operand, value)
    if not isinstance(value, str):
        return False
    if operator == "prefix":
        return value.startswith(operand)
    if operator == "suffix":
        return value.endswith(operand)
    if operator == "equals-ignore-case":
        return value.casefold() == str(operand).casefold()
    if operator == "cidr":
        return _in_network(value, operand)
    return False


def _anything_but(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        ((operator, text),) = operand.items()
        if not isinstance(value, str):
            return False
        return not (value.startswith(text) if operator == "prefix" else value.endswith(text))
    excluded = operand if isinstance(operand, list) else [operand]
    if isinstance(value, _Number) and all(isinstance(e, str) for e in excluded):
        return value.text not in excluded
    if _is_number(value):
        return not any(_is_number(e) and _same_number(value, e) for e in excluded)
    return value not in excluded


def _in_range(value: float, operand: list[Any]) -> bool:
    tests: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: _same_number(a, b),
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    return all(tests[operand[i]](value, float(operand[i + 1])) for i in range(0, len(operand), 2))


def _in_network(value: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _same_number(a: float, b: float) -> bool:
    return round(float(a), 5) == round(float(b), 5)  # five digits after the point, as SNS


# --- moto's SNS, validating and matching the same way --------------------------------------


def _validate_like_sns(stock: Callable[..., None]) -> Callable[..., None]:
    def _validate_filter_policy(self: SNSBackend, value: Any, scope: str | None) -> None:
        problem = validation_problem(value, scope or "MessageAttributes")
        if problem is not None:
            raise SNSInvalidParameter(f"Invalid parameter: FilterPolicy: {problem}")

    return _validate_filter_policy


def _parse_like_sns(stock: Callable[..., None]) -> Callable[..., None]:
    """A FilterPolicy that is not JSON is SNS's InvalidParameter, not a Python traceback."""

    def set_subscription_attributes(self: SNSBackend, arn: str, name: str, value: Any) -> None:
        if name == "FilterPolicy" and value:
            try:
                json.loads(value)
            except (TypeError, ValueError, RecursionError) as error:
                raise SNSInvalidParameter(
                    f"Invalid parameter: FilterPolicy: failed to parse JSON. {error}"
                ) from None
        stock(self, arn, name, value)

    return set_subscription_attributes


def _match_like_sns(stock: Callable[..., bool]) -> Callable[..., bool]:
    def matches_message(
        self: FilterPolicyMatcher, message_attributes: dict[str, Any] | None, message: str
    ) -> bool:
        scope = self.filter_policy_scope or "MessageAttributes"
        return matches_sns(self.filter_policy, scope, message_attributes, message)

    return matches_message


_FILTER_POLICIES: list[_Layer] = [
    (SNSBackend, "_validate_filter_policy", _validate_like_sns),
    (SNSBackend, "set_subscription_attributes", _parse_like_sns),
    (FilterPolicyMatcher, "matches", _match_like_sns),
]


def install_filter_policies() -> None:
    """moto's SNS validates and matches filter policies as SNS does (this module's rules)."""
    _set_feature("filter_policies", _FILTER_POLICIES)


def uninstall_filter_policies() -> None:
    _set_feature("filter_policies", None)
