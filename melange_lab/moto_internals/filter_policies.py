"""SNS filter policies: validated and matched as the simulated broker does."""

from __future__ import annotations

from typing import Any

from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend
from moto.sns.utils import FilterPolicyMatcher

# -- filter policies -------------------------------------------------------------------------
# moto 5.2 checks policies in SNSBackend._validate_filter_policy (which uses no backend state)
# and matches them with FilterPolicyMatcher; using both means what the lab predicts and
# explains is exactly what the simulated broker delivers.


def validation_problem(rules: dict[str, Any], scope: str) -> str | None:
    """What is wrong with a policy, in SNS's words, or None when it is valid."""
    empty = _first_empty_list(rules)
    if empty is not None:
        return f"the rule for '{empty}' is an empty list, which matches nothing (SNS refuses it)"
    try:
        SNSBackend._validate_filter_policy(None, rules, scope)  # type: ignore[arg-type]
    except SNSException as error:
        text = str(error.message).split("\n", 1)[0]
        return text.rsplit("FilterPolicy: ", 1)[-1]
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        return f"it has an unexpected shape ({error})"
    return None


def matches(
    rules: dict[str, Any], scope: str, attributes: dict[str, dict[str, str]], body: str
) -> bool:
    sns_attributes = {
        name: {"Type": value.get("DataType", "String"), "Value": value.get("StringValue")}
        for name, value in attributes.items()
    }
    return bool(FilterPolicyMatcher(rules, scope).matches(sns_attributes, body))


def _first_empty_list(rules: dict[str, Any]) -> str | None:
    for key, rule in rules.items():
        if rule == []:
            return key
        if isinstance(rule, dict):
            nested = _first_empty_list(rule)
            if nested is not None:
                return f"{key}.{nested}"
    return None
