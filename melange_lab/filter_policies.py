"""SNS filter policies: validated when set, matched exactly as the simulated broker matches them.

melange's ``filter_events=[...]`` is the policy ``{"manifest": [...]}``; any other SNS policy
works too, on message attributes or on the message body (``FilterPolicyScope``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from melange_lab import moto_internals
from melange_lab.errors import InvalidFilterPolicy


class FilterPolicyScope(str, enum.Enum):
    MESSAGE_ATTRIBUTES = "MessageAttributes"
    MESSAGE_BODY = "MessageBody"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FilterPolicy:
    """A validated SNS filter policy and the part of the message it looks at."""

    rules: dict[str, Any]
    scope: FilterPolicyScope = FilterPolicyScope.MESSAGE_ATTRIBUTES

    @classmethod
    def parse(
        cls, policy: dict[str, Any] | str, scope: FilterPolicyScope | str | None = None
    ) -> FilterPolicy:
        """Checks ``policy`` (a dict or its JSON text) and raises InvalidFilterPolicy if wrong."""
        rules: Any = policy
        if isinstance(policy, str):
            try:
                rules = json.loads(policy)
            except json.JSONDecodeError as error:
                raise InvalidFilterPolicy(policy, f"it is not valid JSON ({error.msg})") from None
            except RecursionError:
                raise InvalidFilterPolicy(
                    policy[:80], "it is nested too deeply to read (SNS allows 5 levels)"
                ) from None
        if not isinstance(rules, dict) or not rules:
            raise InvalidFilterPolicy(policy, "it must be a non-empty JSON object")
        try:
            parsed_scope = FilterPolicyScope(scope or FilterPolicyScope.MESSAGE_ATTRIBUTES)
        except ValueError:
            raise InvalidFilterPolicy(
                policy, f"scope {scope!r} is neither 'MessageAttributes' nor 'MessageBody'"
            ) from None
        problem = moto_internals.validation_problem(rules, parsed_scope.value)
        if problem is not None:
            raise InvalidFilterPolicy(policy, problem)
        return cls(rules, parsed_scope)

    @classmethod
    def for_manifests(cls, manifests: list[str]) -> FilterPolicy:
        """melange's ``filter_events``: only messages whose manifest is listed get through."""
        return cls.parse({"manifest": list(manifests)})

    def to_json(self) -> str:
        return json.dumps(self.rules)

    def matches(self, attributes: dict[str, dict[str, str]], body: str) -> bool:
        """Whether SNS delivers a message with these (boto3-shaped) attributes and body."""
        return moto_internals.matches(self.rules, self.scope.value, attributes, body)

    def why_filtered(self, attributes: dict[str, dict[str, str]], body: str) -> str:
        """Plain words for why a message did not pass, naming the rule it failed (the same
        words the simulated broker's ``filtered`` events carry)."""
        sns_attributes = {
            name: {"Type": value.get("DataType", "String"), "Value": value.get("StringValue")}
            for name, value in attributes.items()
        }
        reason = moto_internals.mismatch(self.rules, self.scope.value, sns_attributes, body)
        return reason or "the policy as a whole did not match"
