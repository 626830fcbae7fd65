"""Topics as SNS answers for them: creating, attributes, tags, pages, permissions, policies.

moto 5.2 answers a name SNS refuses with its own long sentence, requires a ".fifo" name for
``FifoTopic: "false"`` (it reads any text as true), returns the existing topic when it is
created again with different attributes, lets SetTopicAttributes change FifoTopic, and fails
with an internal error on a TopicArn that is not an ARN. SNS's recorded answers (LocalStack's
``test_sns.snapshot.json``): "Invalid parameter: Topic Name"; "Invalid parameter: Attributes
Reason: Topic already exists with different attributes"; "Invalid parameter: AttributeName";
"Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1".
Tags: moto returns the existing topic when it is created again with tags it does not have,
and TagResource keeps the last of two tags with one key; SNS answers "Invalid parameter: Tags
Reason: Topic already exists with different tags" and "Invalid parameter: Duplicated keys are
not allowed." (recorded; creating it again with some of its tags, or none, is allowed).
ListTopics, ListSubscriptions and ListSubscriptionsByTopic hand out NextToken as base64 text
(recorded: LocalStack's AWS-validated test decodes it), not moto's bare number; a token that is
not one of them is "Invalid parameter: NextToken". AddPermission's refusals start
"Invalid parameter: " (recorded). PutDataProtectionPolicy and GetDataProtectionPolicy, which
moto lacks: the topic keeps the policy's text and gives it back (recorded); the lab applies
no policy to messages (it has no data identifiers to match).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import camelcase_to_underscores
from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import SNSBackend, Topic
from moto.sns.responses import SNSResponse

from melange_lab.moto_internals.patching import _Layer, _set_feature
from melange_lab.moto_internals.subscriptions import check_arn

_STANDARD_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,251}\.fifo")


def _is_true(value: Any) -> bool:
    return str(value).lower() == "true"


def _differs(topic: Topic, attributes: dict[str, Any]) -> bool:
    for name, value in attributes.items():
        if name == "FifoTopic":
            if _is_true(value) != bool(topic.fifo_topic):
                return True
            continue
        have = getattr(topic, camelcase_to_underscores(name), None)
        if str(have).lower() != str(value).lower():
            return True
    return False


def _create_like_sns(stock: Callable[..., Topic]) -> Callable[..., Topic]:
    def create_topic(
        self: SNSBackend,
        name: str,
        attributes: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> Topic:
        attributes = dict(attributes or {})
        fifo = _is_true(attributes.get("FifoTopic"))
        if not (_FIFO_NAME if fifo else _STANDARD_NAME).fullmatch(name):
            raise SNSInvalidParameter("Invalid parameter: Topic Name")
        existing = next((t for t in self.topics.values() if t.name == name), None)
        if existing is not None and _differs(existing, attributes):
            raise SNSInvalidParameter(
                "Invalid parameter: Attributes Reason: Topic already exists with different "
                "attributes"
            )
        asked = (tags or {}).items()
        if existing is not None and any(existing._tags.get(k) != v for k, v in asked):
            raise SNSInvalidParameter(
                "Invalid parameter: Tags Reason: Topic already exists with different tags"
            )
        if not fifo:
            attributes.pop("FifoTopic", None)  # moto reads "false" as true
        return stock(self, name, attributes, tags)

    return create_topic


def _fifo_fixed(stock: Callable[..., None]) -> Callable[..., None]:
    def set_topic_attribute(
        self: SNSBackend, topic_arn: str, attribute_name: str, attribute_value: str
    ) -> None:
        if attribute_name in ("FifoTopic", "fifo_topic"):  # moto's response renames it
            raise SNSInvalidParameter("Invalid parameter: AttributeName")
        stock(self, topic_arn, attribute_name, attribute_value)

    return set_topic_attribute


def _checked_arn(stock: Callable[..., Any]) -> Callable[..., Any]:
    def get_topic_attributes(self: SNSResponse) -> Any:
        check_arn("TopicArn", self._get_param("TopicArn"))
        return stock(self)

    return get_topic_attributes


def _distinct_tag_keys(stock: Callable[..., Any]) -> Callable[..., Any]:
    def tag_resource(self: SNSResponse) -> Any:
        keys = [tag.get("Key") for tag in self._get_param("Tags", [])]
        if len(set(keys)) != len(keys):
            raise SNSInvalidParameter("Invalid parameter: Duplicated keys are not allowed.")
        return stock(self)

    return tag_resource


def _add_permission_like_sns(stock: Callable[..., None]) -> Callable[..., None]:
    def add_permission(self: SNSBackend, *args: Any, **kwargs: Any) -> None:
        try:
            stock(self, *args, **kwargs)
        except SNSInvalidParameter as problem:
            if not problem.message.startswith("Invalid parameter: "):
                raise SNSInvalidParameter(f"Invalid parameter: {problem.message}") from None
            raise

    return add_permission


def _base64_page_tokens(stock: Callable[..., tuple[list[Any], int | None]]) -> Callable[..., Any]:
    def _get_values_nexttoken(
        self: SNSBackend, values_map: dict[str, Any], next_token: str | None = None
    ) -> tuple[list[Any], str | None]:
        position = None
        if next_token:
            try:
                position = str(int(base64.b64decode(next_token, validate=True).decode()))
            except ValueError:
                raise SNSInvalidParameter("Invalid parameter: NextToken") from None
        values, following = stock(self, values_map, position)
        token = None if following is None else base64.b64encode(str(following).encode())
        return values, None if token is None else token.decode()

    return _get_values_nexttoken


_DATA_PROTECTION = "_melange_lab_data_protection_policy"


def _put_data_protection_policy(_: Any) -> Any:
    def put_data_protection_policy(self: SNSResponse) -> Any:
        topic = self.backend.get_topic(self._get_param("ResourceArn"))  # NotFound if none
        policy = self._get_param("DataProtectionPolicy")
        try:
            json.loads(policy)
        except (TypeError, ValueError):
            raise SNSInvalidParameter("Invalid parameter: DataProtectionPolicy") from None
        setattr(topic, _DATA_PROTECTION, policy)
        return EmptyResult()

    return put_data_protection_policy


def _get_data_protection_policy(_: Any) -> Any:
    def get_data_protection_policy(self: SNSResponse) -> Any:
        topic = self.backend.get_topic(self._get_param("ResourceArn"))
        policy = getattr(topic, _DATA_PROTECTION, None)
        return ActionResult({} if policy is None else {"DataProtectionPolicy": policy})

    return get_data_protection_policy


_TOPICS: list[_Layer] = [
    (SNSBackend, "create_topic", _create_like_sns),
    (SNSBackend, "set_topic_attribute", _fifo_fixed),
    (SNSResponse, "get_topic_attributes", _checked_arn),
    (SNSResponse, "tag_resource", _distinct_tag_keys),
    (SNSBackend, "add_permission", _add_permission_like_sns),
    (SNSBackend, "_get_values_nexttoken", _base64_page_tokens),
    (SNSResponse, "put_data_protection_policy", _put_data_protection_policy),
    (SNSResponse, "get_data_protection_policy", _get_data_protection_policy),
]


def install_topic_checks() -> None:
    """CreateTopic, SetTopicAttributes and GetTopicAttributes answer as SNS does."""
    _set_feature("topic_checks", _TOPICS)


def uninstall_topic_checks() -> None:
    _set_feature("topic_checks", None)
