"""SNS filter policies: matching, for the lab and for moto's own deliveries, and moto's SNS
made to validate (``filter_policy_checks``) and match the same way.

moto 5.2's validator refuses operators SNS accepts (``cidr``) and accepts policies SNS
refuses (``{"prefix": 5}``, an empty list, nested ``anything-but`` forms); its matcher crashes
on ``$or`` in a MessageBody policy, never lets ``anything-but`` match a body array that holds
another value, treats a String attribute holding JSON as an array, and misses a dotted key
("a.b" reaches {"a": {"b": ...}} on SNS). Teaching a wrong rule does harm, so the lab matches
policies here, by AWS's documentation
(https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html and the pages it links)
and its recorded answers, and ``install_filter_policies`` makes moto's SNS validate and match
with the same functions, so what the lab predicts is what every path (the lab, plain boto3)
delivers. A FilterPolicy of ``{}`` removes the subscription's policy, as on SNS.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.sns.exceptions import SNSException, SNSInvalidParameter, SNSNotFoundError
from moto.sns.models import SNSBackend
from moto.sns.utils import FilterPolicyMatcher

from melange_lab.moto_internals.filter_policy_checks import (
    PolicyProblem,
    check_policy,
    is_or,
    validation_problem,
)
from melange_lab.moto_internals.patching import _Layer, _set_feature

__all__ = [
    "Body",
    "PolicyProblem",
    "check_policy",
    "matches",
    "matches_sns",
    "mismatch",
    "read_body",
    "validation_problem",
]


class _Number(float):
    """A Number attribute's value: compared as a number, and as its text by string rules."""

    text: str

    def __new__(cls, value: float, text: str) -> _Number:
        number = super().__new__(cls, value)
        number.text = text
        return number


# --- matching -------------------------------------------------------------------------------


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
        return isinstance(document, dict) and _body_matches(rules, document)
    present = attributes or {}
    return _attributes_match(rules, present)


_TOO_DEEP = "the body is JSON nested too deeply to read, so no MessageBody policy matches it"


@dataclass(frozen=True)
class Body:
    """A message body as MessageBody policies read it: its JSON object, or why none can match.
    Read once per publish, however many subscriptions' policies look at it."""

    document: dict[str, Any] | None = None
    problem: str | None = None


def read_body(body: str) -> Body:
    """The body, decoded for MessageBody policies."""
    try:
        document = json.loads(body)
    except RecursionError:
        return Body(problem=_TOO_DEEP)
    except (TypeError, ValueError):
        return Body(problem="the body is not JSON, so a MessageBody policy cannot match it")
    if not isinstance(document, dict):
        return Body(
            problem="the body is not a JSON object, so a MessageBody policy cannot match it"
        )
    return Body(document)


def mismatch(
    rules: dict[str, Any],
    scope: str,
    attributes: dict[str, dict[str, Any]] | None,
    body: str | Body,
) -> str | None:
    """Why SNS keeps this message out of the subscription, in plain words naming each rule it
    failed, or None when it is delivered. Each rule of the policy is evaluated once: this is
    the one evaluation the simulated broker makes per subscription and publish.

    ``attributes`` as SNS's Publish hands them on: {"Type", "Value"}; ``body`` as published,
    or already read (``read_body``) when several policies look at it.
    """
    if not rules:
        return None
    if scope == "MessageBody":
        read = body if isinstance(body, Body) else read_body(body)
        if read.document is None:
            return read.problem
        document = read.document
        failed = [key for key in rules if not _body_matches({key: rules[key]}, document)]
        return "; ".join(_why_body_key(key, rules[key], document) for key in failed) or None
    present = attributes or {}
    failed = [key for key in rules if not _attributes_match({key: rules[key]}, present)]
    return "; ".join(_why_attribute_key(key, rules[key], present) for key in failed) or None


def _why_attribute_key(key: str, rule: Any, attributes: dict[str, dict[str, Any]]) -> str:
    wanted = json.dumps(rule)
    if is_or(key, rule):
        return f"none of the $or alternatives {wanted} matched"
    if key not in attributes:
        return f"message attribute '{key}' is missing; the policy wants {wanted}"
    return (
        f"message attribute '{key}' is {attributes[key].get('Value')!r}; the policy wants {wanted}"
    )


def _why_body_key(key: str, rule: Any, document: dict[str, Any]) -> str:
    wanted = json.dumps(rule)
    if is_or(key, rule):
        return f"none of the $or alternatives {wanted} matched"
    if key not in document:
        return f"body field '{key}' is missing; the policy wants {wanted}"
    return f"body field '{key}' is {json.dumps(document[key])}; the policy wants {wanted}"


def _attributes_match(rules: dict[str, Any], attributes: dict[str, dict[str, Any]]) -> bool:
    for key, rule in rules.items():
        if is_or(key, rule):
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


def _body_matches(rules: dict[str, Any], document: dict[str, Any]) -> bool:
    """A MessageBody policy against a JSON object. SNS compares dotted paths: a key "a.b" in
    the policy, or "b" nested under "a", reaches both {"a": {"b": ...}} and {"a.b": ...} in
    the body; arrays on the way are looked through."""
    payload = _paths(document)
    return any(
        all(
            all(_leaf_matches(conditions, payload.get(path), True) for conditions in rule_lists)
            for path, rule_lists in alternative.items()
        )
        for alternative in _alternatives(rules, "")
    )


def _paths(
    node: Any, prefix: str = "", found: dict[str, list[Any]] | None = None
) -> dict[str, list[Any]]:
    """Every leaf value of a JSON document by its dotted path."""
    found = {} if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            _paths(value, f"{prefix}.{key}" if prefix else key, found)
    elif isinstance(node, list):
        for element in node:
            _paths(element, prefix, found)
    elif prefix:
        found.setdefault(prefix, []).append(node)
    return found


def _alternatives(rules: dict[str, Any], prefix: str) -> list[dict[str, list[list[Any]]]]:
    """The policy as alternatives (one per choice of ``$or`` branches), each mapping a dotted
    path to the condition lists that must all hold there."""
    alternatives: list[dict[str, list[list[Any]]]] = [{}]
    for key, value in rules.items():
        if is_or(key, value):
            choices = [a for branch in value for a in _alternatives(branch, prefix)]
        elif isinstance(value, dict):
            choices = _alternatives(value, f"{prefix}.{key}" if prefix else key)
        else:
            choices = [{f"{prefix}.{key}" if prefix else key: [value]}]
        alternatives = [_merged(a, b) for a in alternatives for b in choices]
    return alternatives


def _merged(
    first: dict[str, list[list[Any]]], second: dict[str, list[list[Any]]]
) -> dict[str, list[list[Any]]]:
    merged = {path: list(lists) for path, lists in first.items()}
    for path, lists in second.items():
        merged.setdefault(path, []).extend(lists)
    return merged


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


def sns_error(problem: PolicyProblem, *, subscribing: bool) -> SNSException:
    """SNS's answer to a refused policy: in Subscribe, the reason follows "Attributes Reason: "."""
    if problem.internal:
        error = SNSException("InternalError", "An internal error has occurred")
        error.code = "InternalError"
        return error
    reason = "Attributes Reason: " if subscribing else ""
    field = "FilterPolicy: " if problem.about_policy else ""
    return SNSInvalidParameter(f"Invalid parameter: {reason}{field}{problem}")


def parse_policy(text: Any, *, subscribing: bool) -> Any:
    """A FilterPolicy's JSON, or SNS's InvalidParameter naming the parse error."""
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError) as error:
        reason = "Attributes Reason: " if subscribing else ""
        raise SNSInvalidParameter(
            f"Invalid parameter: {reason}FilterPolicy: failed to parse JSON. {error}"
        ) from None


def _validate_like_sns(stock: Callable[..., None]) -> Callable[..., None]:
    def _validate_filter_policy(self: SNSBackend, value: Any, scope: str | None) -> None:
        try:
            check_policy(value, scope or "MessageAttributes")
        except PolicyProblem as problem:
            raise sns_error(problem, subscribing=False) from None

    return _validate_filter_policy


def _set_like_sns(stock: Callable[..., None]) -> Callable[..., None]:
    """SetSubscriptionAttributes: a policy that is not JSON is SNS's InvalidParameter (not a
    traceback), ``{}`` removes the policy, and FilterPolicyScope takes SNS's two values."""

    def set_subscription_attributes(self: SNSBackend, arn: str, name: str, value: Any) -> None:
        if name == "FilterPolicyScope" and value not in ("MessageAttributes", "MessageBody"):
            if arn not in self.subscriptions:
                raise SNSNotFoundError("Subscription does not exist")
            raise SNSInvalidParameter(
                f"Invalid parameter: FilterPolicyScope: Invalid value [{value}]. Please use "
                "either MessageBody or MessageAttributes"
            )
        if name == "FilterPolicy" and value and parse_policy(value, subscribing=False) == {}:
            stock(self, arn, name, "")
            self.subscriptions[arn].attributes.pop("FilterPolicy", None)
            return
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
    (SNSBackend, "set_subscription_attributes", _set_like_sns),
    (FilterPolicyMatcher, "matches", _match_like_sns),
]


def install_filter_policies() -> None:
    """moto's SNS validates and matches filter policies as SNS does (this module's rules)."""
    _set_feature("filter_policies", _FILTER_POLICIES)


def uninstall_filter_policies() -> None:
    _set_feature("filter_policies", None)
