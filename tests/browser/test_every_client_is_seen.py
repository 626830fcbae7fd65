"""Every client is seen in the view (issue #20): a publish made with plain boto3 in the kernel,
and one made by another process through ``broker.serve()``, travel the topology into each
queue like the lab's own, each copy tied to its publish by the broker's ids."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import SaveScreenshot
from .lab_harness import Lab, open_notebook, start_run_all, wait_run_all

WIRING = """\
import json
from melange_lab import SimulatedBroker

broker = SimulatedBroker(clock="manual")
sqs, sns = broker.client("sqs"), broker.client("sns")
topic = sns.create_topic(Name="orders")["TopicArn"]
for name in ["billing", "shipping", "audit"]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    policy = {"FilterPolicy": json.dumps({"kind": ["refund"]})} if name == "audit" else {}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"], Attributes=policy)
"""
VIEW = "view = broker.view()\nview"
PLAIN_BOTO3_LATER = """\
import time

time.sleep(2)  # the view is on screen before the message travels
published = sns.publish(
    TopicArn=topic,
    Message=json.dumps({"order": 1}),
    MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
)["MessageId"]
print("published", published)
"""
ANOTHER_PROCESS_LATER = """\
import os, subprocess, sys, time

server = broker.serve()
time.sleep(2)  # the view is on screen before the message travels
program = '''
import boto3, json
sns = boto3.client("sns")
topic = sns.create_topic(Name="orders")["TopicArn"]
print(sns.publish(TopicArn=topic, Message=json.dumps({"order": 2}),
      MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})["MessageId"])
'''
settings = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
done = subprocess.run([sys.executable, "-c", program], env={**settings, **server.environment()},
                      capture_output=True, text=True, timeout=60)
published = done.stdout.strip()
print("published", published, done.stderr[-500:])
"""
SUBSCRIBERS = ("billing", "shipping")
TOKEN_WAIT_MS = 60_000


def queue(view: Locator, name: str) -> Locator:
    return view.locator(f'.mlv-queue[data-queue="{name}"]')


def published_id_printed(page: Page) -> str:
    output = page.locator(".jp-OutputArea-output", has_text="published ").last
    expect(output).to_be_visible()
    return output.inner_text().split()[1]


def travels_into_each_subscriber(page: Page, save_screenshot: SaveScreenshot, shot: str) -> None:
    view = page.locator(".mlv").first
    for name in SUBSCRIBERS:  # caught in flight, before any card exists
        token = view.locator(f'.mlv-token[data-outcome="delivered"][data-queue="{name}"]')
        expect(token).to_have_attribute("data-phase", "travelling", timeout=TOKEN_WAIT_MS)
    view.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    save_screenshot(page, shot)
    stopped = view.locator('.mlv-token[data-outcome="filtered"][data-queue="audit"]')
    expect(stopped).to_have_attribute("data-phase", "stopped")
    wait_run_all(page)
    published = published_id_printed(page)
    for name in SUBSCRIBERS:
        card = queue(view, name).locator(".mlv-card")
        expect(card).to_have_count(1)
        expect(card).to_have_attribute("data-published-id", published)
        assert card.get_attribute("data-message-id") != published  # the copy's own id
    expect(queue(view, "audit").locator(".mlv-card")).to_have_count(0)


@pytest.mark.browser
@pytest.mark.parametrize(
    "who",
    [
        pytest.param(PLAIN_BOTO3_LATER, id="plain-boto3-in-the-kernel"),
        pytest.param(ANOTHER_PROCESS_LATER, id="another-process-through-serve"),
    ],
)
def test_a_publish_travels_in_the_view_whoever_made_it(
    lab: Lab, console_errors: list[str], save_screenshot: SaveScreenshot, who: str
) -> None:
    lab.write_notebook("every_client.ipynb", [WIRING, VIEW, who])
    page = open_notebook(lab.page, lab.server, "every_client.ipynb")
    start_run_all(page)
    travels_into_each_subscriber(page, save_screenshot, "travelling")
    assert console_errors == []
