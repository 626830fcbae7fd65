"""Every option of the calls added last round (``view()``, ``BrokerView``, ``peek_page()``,
``peek()``, ``client()``, ``serve()``), given each kind of bad value, a careless learner types.

Each bad value is refused with the same typed errors as the rest of the API (``InvalidParameter``
for a value, ``UnknownOption`` for a misspelt keyword), before anything is created: no widget
opens, no server listens, the broker's messages all add up and it keeps working. Every message
quotes a long value cut to a readable length (``errors.quoted``).
"""

from __future__ import annotations

import math
import socket
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from melange_lab import (
    Consumer,
    MessagingBackendFactory,
    QueuePublisher,
    RemoteBroker,
    SimpleMessageDispatcher,
    SimulatedBroker,
    TopicPublisher,
)
from melange_lab.errors import (
    BrokerRequestFailed,
    InvalidFilterPolicy,
    InvalidIntent,
    InvalidMessageContents,
    InvalidName,
    InvalidParameter,
    MelangeLabError,
    MessageTooLarge,
    MissingMessageGroupId,
    NotebookRefused,
    QueueNotFound,
    SourceNotUsable,
    TopicNotFound,
    UnknownOption,
    UnsafePickle,
    quoted,
)
from melange_lab.serializers import SerializerRegistry
from melange_lab.serving import BrokerReachableWarning
from melange_lab.widgets.actions import default_registry
from melange_lab.widgets.broker_view import BrokerView
from melange_lab.widgets.comm_recorder import CommRecorder, recording_comms
from tests.hostile import HUGE_TEXT, adds_up, deep_list

HUGE = HUGE_TEXT
DEEP = deep_list()


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


BAD: list[Any] = [
    None,
    True,
    False,
    -1,
    0,
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    10**5000,
    -(10**5000),
    1e308,
    "20",
    "",
    HUGE,
    "\ud800",
    [],
    {},
    [20],
    {"page_size": 20},
    object(),
    b"20",
    DEEP,
    Unprintable(),
]
IDS = [f"{type(v).__name__}{i}" for i, v in enumerate(BAD)]


def good_for(option: str, value: Any) -> bool:
    """The few values of ``BAD`` that are allowed for ``option``."""
    number = not isinstance(value, bool) and isinstance(value, int) and abs(value) < 10**12
    if option == "registry":
        return value is None
    if option == "refresh_interval":
        return value is None or (
            (number or isinstance(value, float)) and math.isfinite(value) and 0 <= value <= 60
        )
    if option in ("page_size", "event_limit", "limit"):
        return (number and value == 20) or (number and 1 <= value <= 1_000)
    if option == "offset":
        return number and 0 <= value <= 10**9
    if option == "port":
        return number and 0 <= value <= 65_535
    return False


def bad_values(*options: str, more: list[Any] = ()) -> list[Any]:  # type: ignore[assignment]
    """(option, value) for every value of ``BAD`` (and ``more``) the option must refuse."""
    return [
        pytest.param(option, value, id=f"{option}-{type(value).__name__}{index}")
        for option in options
        for index, value in enumerate([*BAD, *more])
        if not good_for(option, value)
    ]


@pytest.fixture(scope="module")
def recorder() -> Iterator[CommRecorder]:
    with recording_comms() as recorded:
        yield recorded


@pytest.fixture(scope="module")
def lab(recorder: CommRecorder) -> Iterator[SimulatedBroker]:
    """A broker with a topic fanning out to two queues and one message in each."""
    broker = SimulatedBroker(clock="manual")
    backend = broker.backend
    topic = backend.declare_topic("orders")
    backend.declare_queue("billing", topic)
    backend.declare_queue("shipping", topic)
    TopicPublisher(default_registry(), backend).publish("orders", {"order_id": "A1"})
    yield broker
    broker.stop()


@pytest.fixture
def broker(lab: SimulatedBroker) -> SimulatedBroker:
    if not lab.running:  # a test replaced it
        lab.start()
    return lab


def still_works(broker: SimulatedBroker) -> None:
    """The broker publishes, fans out, peeks and views after the refusal, and adds up."""
    before = {q.name: q.total for q in broker.queues()}
    TopicPublisher(default_registry(), broker.backend).publish("orders", {"order_id": "B2"})
    assert {q.name: q.total for q in broker.queues()} == {k: v + 1 for k, v in before.items()}
    assert broker.peek_page("billing", 0, 1).total == before["billing"] + 1
    view = broker.view(refresh_interval=None)
    assert view.queue_pages["billing"]["total"] == before["billing"] + 1
    view.close()
    assert adds_up(broker)


def refused(call: Callable[[], Any], kind: type[MelangeLabError] = InvalidParameter) -> str:
    with pytest.raises(kind) as error:
        call()
    text = str(error.value)
    assert len(text) < 1_200, text[:300]
    return text


# -- view() and BrokerView ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"), bad_values("registry", "page_size", "refresh_interval", "event_limit")
)
def test_every_view_option_refuses_bad_values_before_a_widget_opens(
    broker: SimulatedBroker, recorder: CommRecorder, option: str, value: Any
) -> None:
    recorder.clear()
    text = refused(lambda: broker.view(**{option: value}))
    assert text.startswith(f"{option}=")
    assert not [m for m in recorder.messages if m.get("method") == "open"]
    still_works(broker)


@pytest.mark.parametrize(
    "options",
    [{"page_sise": 20}, {"limt": 5}, {"refresh": 1}, {"registery": None}, {HUGE: 1}, {"\ud800": 1}],
    ids=range(6),
)
def test_a_misspelt_view_option_is_an_unknown_option_naming_the_real_ones(
    broker: SimulatedBroker, options: dict[str, Any]
) -> None:
    text = refused(lambda: broker.view(**options), UnknownOption)
    assert "page_size, refresh_interval, event_limit" in text


def test_view_refuses_extra_positional_arguments_as_unknown_options(
    broker: SimulatedBroker,
) -> None:
    refused(lambda: broker.view(default_registry(), 20), UnknownOption)  # type: ignore[misc]


def test_the_view_options_of_issue_23(broker: SimulatedBroker) -> None:
    assert "page_size=0" in refused(lambda: broker.view(page_size=0))
    assert "page_size='20'" in refused(lambda: broker.view(page_size="20"))
    assert "event_limit=-1" in refused(lambda: broker.view(event_limit=-1))
    assert "page_sise" in refused(lambda: broker.view(page_sise=20), UnknownOption)


NOT_IDS = [v for v in BAD if not isinstance(v, str) or len(v) > 128]


@pytest.mark.parametrize("method", ["select", "inspect"])
@pytest.mark.parametrize(
    "value", NOT_IDS, ids=[f"{type(v).__name__}{i}" for i, v in enumerate(NOT_IDS)]
)
def test_a_views_select_and_inspect_refuse_what_is_no_message_id_and_show_nothing(
    broker: SimulatedBroker, method: str, value: Any
) -> None:
    view = broker.view(refresh_interval=None)
    try:
        call = (lambda: view.select(value)) if method == "select" else (
            lambda: view.inspect("billing", value)
        )  # fmt: skip
        assert "message id" in refused(call)
        assert view.selected == "" and view.inspected == {}  # nothing half-shown to sync
        (card,) = view.queue_pages["billing"]["cards"][:1]
        view.select(card["published_id"])  # and the real thing still works
        assert view.inspected["id"] == card["id"]
    finally:
        view.close()
    still_works(broker)


def test_default_names_a_misspelt_option_even_while_a_broker_is_shared(
    broker: SimulatedBroker,
) -> None:
    assert SimulatedBroker.default() is broker
    assert "regoin" in refused(lambda: SimulatedBroker.default(regoin="x"), UnknownOption)
    assert "clock='bogus'" in refused(lambda: SimulatedBroker.default(clock="bogus"))
    assert "(100,000 characters)" in refused(lambda: SimulatedBroker.default(region=HUGE))
    assert SimulatedBroker.default() is broker and broker.running
    still_works(broker)


@pytest.mark.parametrize(
    "source", [None, "broker", 5, object(), [], {"events": []}, SimulatedBroker], ids=range(7)
)
def test_a_view_of_something_that_is_not_a_broker_is_refused(
    broker: SimulatedBroker, source: Any
) -> None:
    text = refused(lambda: BrokerView(source))
    assert "a broker to watch" in text
    still_works(broker)


def test_the_largest_allowed_view_options_work(broker: SimulatedBroker) -> None:
    view = broker.view(page_size=1_000, event_limit=10_000, refresh_interval=60)
    assert view.queue_pages["billing"]["page_size"] == 1_000
    view.close()
    view = broker.view(page_size=1, event_limit=1, refresh_interval=0)
    assert len(view.queue_pages["billing"]["cards"]) == 1
    view.close()


# -- peek_page() and peek() --------------------------------------------------------------------


@pytest.mark.parametrize(("option", "value"), bad_values("offset", "limit", "registry"))
def test_every_peek_page_option_refuses_bad_values(
    broker: SimulatedBroker, option: str, value: Any
) -> None:
    before = list(broker.events)
    text = refused(lambda: broker.peek_page("billing", **{option: value}))
    assert text.startswith(f"{option}=")
    assert list(broker.events) == before
    still_works(broker)


@pytest.mark.parametrize("value", BAD, ids=IDS)
def test_peek_and_peek_page_refuse_a_queue_that_is_not_a_queue_name(
    broker: SimulatedBroker, value: Any
) -> None:
    for call in (lambda: broker.peek(value), lambda: broker.peek_page(value)):
        with pytest.raises((InvalidName, QueueNotFound)) as error:
            call()
        assert len(str(error.value)) < 1_200
    still_works(broker)


@pytest.mark.parametrize("value", [v for v in BAD if v is not None], ids=IDS[1:])
def test_peek_refuses_a_registry_that_is_not_one(broker: SimulatedBroker, value: Any) -> None:
    assert "SerializerRegistry" in refused(lambda: broker.peek("billing", value))


@pytest.mark.parametrize("options", [{"limt": 5}, {"ofset": 1}, {"queue_name": "billing"}])
def test_a_misspelt_peek_page_option_is_an_unknown_option(
    broker: SimulatedBroker, options: dict[str, Any]
) -> None:
    text = refused(lambda: broker.peek_page("billing", **options), UnknownOption)
    assert "queue, offset, limit, registry" in text


# -- client() ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "service", [*BAD, "SQS", "Sns", " sqs", "sqs ", "s3", "lambda", "sqs\x00"], ids=range(31)
)
def test_client_takes_only_sqs_or_sns_and_never_lists_every_aws_service(
    broker: SimulatedBroker, service: Any
) -> None:
    text = refused(lambda: broker.client(service))
    assert "'sqs' or 'sns'" in text
    assert "accessanalyzer" not in text and len(text) < 400
    still_works(broker)


def test_client_in_capitals_says_service_names_are_lower_case(broker: SimulatedBroker) -> None:
    assert "broker.client('sqs')" in refused(lambda: broker.client("SQS"))
    assert "broker.client('sns')" in refused(lambda: broker.client(" SNS "))


def test_client_without_a_service_names_its_option(broker: SimulatedBroker) -> None:
    refused(lambda: broker.client(), UnknownOption)  # type: ignore[call-arg]
    refused(lambda: broker.client(services="sqs"), UnknownOption)  # type: ignore[call-arg]


# -- serve() -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    bad_values("port", "host", more=["127.0.0.1\x00", "a b", "x" * 64 + ".example", "256.1.1.1"]),
)
@pytest.mark.filterwarnings("ignore::melange_lab.serving.BrokerReachableWarning")
def test_every_serve_option_refuses_bad_values_before_listening(
    broker: SimulatedBroker, option: str, value: Any
) -> None:
    with pytest.raises(InvalidParameter) as error:
        broker.serve(**{option: value})
    assert str(error.value).startswith(f"{option}=") and len(str(error.value)) < 1_200
    still_works(broker)


def test_a_misspelt_serve_option_is_an_unknown_option(broker: SimulatedBroker) -> None:
    assert "port, host" in refused(lambda: broker.serve(hots="127.0.0.1"), UnknownOption)


def test_serve_on_a_port_in_use_is_a_typed_error_and_the_broker_keeps_working(
    broker: SimulatedBroker,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(MelangeLabError):
            broker.serve(port=taken.getsockname()[1])
    still_works(broker)


@pytest.mark.parametrize("host", ["192.0.2.1", "256.1.1.1", "name.invalid"])
def test_serving_on_an_address_that_is_not_this_machines_is_refused_without_a_warning(
    broker: SimulatedBroker, host: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning about who can reach a server never started
        with pytest.raises(InvalidParameter, match="host="):
            broker.serve(host=host)
    still_works(broker)


def test_the_warning_about_a_reachable_broker_points_at_the_learners_own_line(
    broker: SimulatedBroker,
) -> None:
    with pytest.warns(BrokerReachableWarning) as warned:
        server = broker.serve(host="0.0.0.0")
    server.stop()
    assert warned[0].filename == __file__
    still_works(broker)


@pytest.mark.parametrize(
    "seed", [10**5000, -(10**5000), 2**63, -(2**63)], ids=["5000-digits", "minus", "2^63", "-2^63"]
)
def test_a_seed_too_large_to_print_is_refused_and_faults_stay_off(
    broker: SimulatedBroker, seed: int
) -> None:
    with pytest.raises(InvalidParameter) as refused:
        broker.faults(seed=seed)
    assert refused.value.parameter == "seed" and len(str(refused.value)) < 400
    assert broker.backend.faults is None
    assert repr(broker.faults(seed=2**63 - 1))  # the largest seed prints, in a report too
    broker.clear_faults()
    still_works(broker)


MISSPELT_CONSTRUCTORS: dict[str, Callable[[SimulatedBroker], Any]] = {
    "TopicPublisher": lambda b: TopicPublisher(default_registry(), b.backend, regsitry=None),
    "QueuePublisher": lambda b: QueuePublisher(default_registry(), bakend=b.backend),
    "MessagingBackendFactory": lambda b: MessagingBackendFactory(b.backend, dlq=True),
    "Consumer": lambda b: Consumer(on_mesage=print),
    "SimpleMessageDispatcher": lambda b: SimpleMessageDispatcher(
        Consumer(on_message=print), default_registry(), backend=b.backend, early_ak=True
    ),
    "RemoteBroker": lambda b: RemoteBroker(b.backend, region="eu-west-1"),
}


@pytest.mark.parametrize("called", MISSPELT_CONSTRUCTORS)
def test_a_misspelt_constructor_option_names_the_class_called_and_its_options(
    broker: SimulatedBroker, called: str
) -> None:
    text = refused(lambda: MISSPELT_CONSTRUCTORS[called](broker), UnknownOption)
    assert text.startswith(f"{called}(): unknown option(s)") and "Its options are" in text
    still_works(broker)


# -- long values in every error message ------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.backend.declare_queue(HUGE),
        lambda b: b.backend.declare_topic(HUGE),
        lambda b: b.backend.get_queue(HUGE),
        lambda b: b.backend.get_topic(HUGE),
        lambda b: b.peek(HUGE),
        lambda b: b.redrive(HUGE),
        lambda b: TopicPublisher(default_registry(), b.backend).publish(HUGE, {}),
        lambda b: b.backend.declare_queue("x", b.backend.get_topic("orders"), **{HUGE: 1}),
        lambda b: b.view(**{HUGE: 1}),
        lambda b: b.backend.declare_queue("x", visibility_timeout=HUGE),
        lambda b: b.backend.declare_queue("x", visibility_timeout=10**5000),
        lambda b: TopicPublisher(default_registry(), b.backend).publish(
            "orders", {}, message_attributes={"a": HUGE + "\ud800"}
        ),
        lambda b: TopicPublisher(default_registry(), b.backend).publish("orders", {}, subject=HUGE),
        lambda b: b.clock.advance(HUGE),
        lambda b: b.faults(seed=HUGE),
        lambda b: SimulatedBroker(region=HUGE),
    ],
    ids=range(16),
)
def test_an_error_quotes_a_100000_character_value_cut_to_a_readable_length(
    broker: SimulatedBroker, call: Callable[[SimulatedBroker], Any]
) -> None:
    with pytest.raises(MelangeLabError) as error:
        call(broker)
    text = str(error.value)
    assert len(text) < 1_200, text[:300]
    assert "100,00" in text or "<an integer of about 5,001 digits>" in text or "\\ud800" in text
    still_works(broker)


@pytest.mark.parametrize(
    "error",
    [
        QueueNotFound(HUGE, [HUGE] * 1_000),
        TopicNotFound(HUGE, [f"t{i}" for i in range(10_000)]),
        InvalidName("queue", HUGE, "use 1 to 80 letters"),
        InvalidParameter(HUGE, HUGE, HUGE, "fix"),
        InvalidParameter("x", [HUGE] * 1_000, "a list"),
        InvalidParameter("x", {HUGE: DEEP}, "a dict"),
        InvalidParameter("x", 10**5000, "a number"),
        InvalidParameter("x", Unprintable(), "a value"),
        UnknownOption("view", f"unknown option(s) {[HUGE]}", ["page_size"]),
        InvalidFilterPolicy({HUGE: [HUGE]}, HUGE),
        MessageTooLarge(HUGE, 10**6, 262_144),
        MissingMessageGroupId(HUGE),
        UnsafePickle("id", HUGE + "." + HUGE, True),
        BrokerRequestFailed("Publish", "InvalidParameter", HUGE, "http://127.0.0.1:1"),
        SourceNotUsable(HUGE, HUGE),
        NotebookRefused(HUGE, HUGE),
        InvalidIntent(HUGE, HUGE, "text"),
        InvalidMessageContents(
            HUGE[:10], HUGE + "\ud800", 100_000, "SQS", "InvalidMessageContents"
        ),
    ],
    ids=range(18),
)
def test_every_error_class_quotes_long_values_cut(error: MelangeLabError) -> None:
    text = str(error)
    assert len(text) < 1_500, text[:300]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("billing", "'billing'"),
        (HUGE, "(100,000 characters)"),
        (10**5000, "<an integer of about 5,001 digits>"),
        ([10**5000], "[<an integer of about 5,001 digits>]"),
        ("\ud800", "'\\ud800'"),
        (Unprintable(), "<Unprintable instance at"),
        (DEEP, "[[[[...]]]]"),
        (math.nan, "nan"),
        (b"x" * 10_000, "(10,000 characters)"),
    ],
    ids=range(9),
)
def test_quoted_reads_every_value_and_stays_short(value: Any, shown: str) -> None:
    text = quoted(value)
    assert shown in text and len(text) <= 120


def test_a_registry_given_as_settings_instead_of_a_registry_says_what_to_pass(
    broker: SimulatedBroker,
) -> None:
    settings = {"serializers": {}, "default": "json"}
    text = refused(lambda: broker.view(settings))
    assert "SerializerRegistry(" in text
    assert isinstance(SerializerRegistry({"serializers": {}}), SerializerRegistry)
