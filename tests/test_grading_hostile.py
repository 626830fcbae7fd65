"""A hostile class, graded in one run: cheats score zero on the check they attack, nothing
outside each submission's sandbox changes, no process outlives the run, and every bad file is
reported instead of stopping the class."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import time
from pathlib import Path

import nbformat
import pytest

from melange_lab.cli import main

EXERCISES = Path(__file__).resolve().parent.parent / "notebooks" / "exercises"
MARKER = "melange-cheat-marker-7f3a"
SECRET = "teacher-secret-9b1c"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)"
    ),
]

BILLING = 'factory.init_queue("billing", ["orders"], filter_events=["OrderCreated"])\n'
SHIPPING = 'factory.init_queue("shipping", ["orders"])\n'

# Each cheat is the answer cell of exercise 01; none of them wires the queues honestly.
CHEATS = {
    "replaced_checks": """
import sys, melange_lab
class Anything:
    def __getattr__(self, name):
        return lambda *args, **kwargs: "ok"
checks = Anything()
melange_lab.checks = checks
sys.modules["melange_lab.checks"] = checks
""",
    "patched_check_functions": """
import melange_lab.checks as real
real.only_manifests_reach = lambda *args, **kwargs: "ok"
real.every_queue_gets_every_event = lambda *args, **kwargs: "ok"
real.CheckFailed = type("Harmless", (Exception,), {})
""",
    "input_transformer": """
def blank_checks(lines):
    return ["pass\\n"] if any("checks." in line or "publish" in line for line in lines) else lines
ip = get_ipython()
ip.input_transformers_cleanup.append(blank_checks)
ip.input_transformers_post.append(blank_checks)
ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
""",
    "patched_broker": """
from melange_lab.broker import SimulatedBroker
from melange_lab.events import EventLog
SimulatedBroker.queues = lambda self: []
EventLog.of_kind = lambda self, *kinds: []
class Fake:
    def __getattr__(self, name):
        return lambda *args, **kwargs: []
broker = Fake()
""",
    "patched_json_in_a_thread": """
import json, sys, threading
real_dumps = json.dumps
def lying_dumps(obj, *args, **kwargs):
    if isinstance(obj, dict) and obj.get("kind") == "cell":
        obj = {**obj, "status": "ok", "failure": None, "error": None}
    return real_dumps(obj, *args, **kwargs)
def keep_patching():
    while True:
        json.dumps = lying_dumps
        sys.settrace(None)
json.dumps = lying_dumps
threading.Thread(target=keep_patching, daemon=True).start()
""",
    "reads_teacher_files": """
import glob, json, os
found = []
for cmdline in glob.glob("/proc/*/cmdline"):
    try:
        args = open(cmdline, "rb").read().split(b"\\0")
    except OSError:
        continue
    if b"--source" in args:
        found.append(args[args.index(b"--source") + 1].decode())
for folder in found + [SOURCE_GUESS]:
    try:
        notebook = json.load(open(os.path.join(folder, "01_filter_policy.ipynb")))
    except OSError:
        continue
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]))
""",
    "vandal": """
import os, subprocess, shutil
for path in TARGETS:
    for action in (os.remove, shutil.rmtree):
        try:
            action(path)
        except Exception:
            pass
    try:
        with open(path, "w") as handle:
            handle.write("vandalised")
    except Exception:
        pass
files = " ".join(TARGETS)
later = f"sleep 4; for f in {files}; do echo vandalised > $f; done"
subprocess.Popen(["/bin/sh", "-c", later + " # MARKER"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    import time
    time.sleep(30)
    os._exit(0)
""",
    "leaks_secrets": """
import os
secret = os.environ.get("MELANGE_TEACHER_SECRET", "none") + " " + " ".join(os.environ)
print(secret)
raise checks.CheckFailed("LEAK {x}", x=secret)
""",
    "phones_home": """
import socket
for host in ("127.0.0.1", "localhost"):
    try:
        with socket.create_connection((host, LISTENER_PORT), timeout=2) as connection:
            connection.sendall(b"answers please")
    except OSError:
        pass
""",
    "formula_error": """
raise ValueError("=HYPERLINK(\\"http://example.invalid\\", \\"click\\")")
""",
    "endless_and_deaf": """
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    try:
        pass
    except BaseException:
        pass
""",
    "huge_output": """
print("x" * 100_000_000)
""",
    "exits_python": """
import os
os._exit(0)
""",
}


def fingerprints(folder: Path, skip: Path | None = None) -> dict[str, str]:
    result = {}
    for path in sorted(folder.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        if path.is_symlink():
            result[str(path.relative_to(folder))] = "link:" + os.readlink(path)
        elif path.is_file():
            result[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return result


def with_answer(name: str, answer: str, source: Path = EXERCISES) -> nbformat.NotebookNode:
    notebook = nbformat.read(source / name, as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
    cell.source = answer
    return notebook


def put(notebook: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def marker_processes() -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if MARKER in text:
            found.append(text)
    return found


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("hostile")
    source = root / "teacher" / "source"
    shutil.copytree(EXERCISES, source, ignore=shutil.ignore_patterns(".*"))
    # a hidden test: only the teacher's copy has it; exactly two queues on the broker
    notebook = nbformat.read(source / "01_filter_policy.ipynb", as_version=4)
    shipping = next(
        c
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "shipping_gets_everything"
    )
    shipping.source += (
        "\n### BEGIN HIDDEN TESTS\nassert len(broker.queues()) == 2, 'hidden'\n### END HIDDEN TESTS"
    )
    nbformat.write(notebook, source / "01_filter_policy.ipynb")
    canary = root / "teacher" / "canary.txt"
    canary.write_text("do not touch\n")
    subs = root / "submissions"
    out = root / "grades"
    put(
        nbformat.read(source / "01_filter_policy.ipynb", as_version=4),
        subs / "honest" / "01_filter_policy.ipynb",
    )
    put(
        nbformat.read(source / "06_acknowledge_after_processing.ipynb", as_version=4),
        subs / "honest" / "06_acknowledge_after_processing.ipynb",
    )
    no_filter = 'factory.init_queue("billing", ["orders"])\n' + SHIPPING
    put(with_answer("01_filter_policy.ipynb", no_filter), subs / "wrong" / "01_filter_policy.ipynb")
    put(
        with_answer(
            "01_filter_policy.ipynb",
            BILLING + SHIPPING + 'factory.init_queue("spare", ["orders"])\n',
            source,
        ),
        subs / "hidden_test" / "01_filter_policy.ipynb",
    )
    stops_at_failure = (
        "    for message in backend.retrieve_messages(queue):\n"
        "        handler(message)\n"
        "        backend.acknowledge(message)\n"
    )
    notebook = with_answer("06_acknowledge_after_processing.ipynb", "")
    answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = (
        "def consume(backend, queue_name, handler):\n"
        "    queue = backend.get_queue(queue_name)\n" + stops_at_failure
    )
    put(notebook, subs / "stops_batch" / "06_acknowledge_after_processing.ipynb")
    targets = [
        str(canary),
        str(subs / "honest" / "01_filter_policy.ipynb"),
        str(source / "01_filter_policy.ipynb"),
        str(out / "scores.csv"),
    ]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    for name, code in CHEATS.items():
        code = code.replace("TARGETS", repr(targets)).replace("SOURCE_GUESS", repr(str(source)))
        code = code.replace("LISTENER_PORT", str(listener.getsockname()[1]))
        put(
            with_answer("01_filter_policy.ipynb", code.replace("MARKER", MARKER)),
            subs / name / "01_filter_policy.ipynb",
        )
    # a graded cell of the student's own, worth 100 points
    notebook = with_answer("01_filter_policy.ipynb", "")
    bonus = nbformat.v4.new_code_cell("print('free points')")
    bonus.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 100, "locked": True}
    notebook.cells.append(bonus)
    put(notebook, subs / "bonus_cell" / "01_filter_policy.ipynb")
    # edited locked cells: the scenario does nothing and the checks print "ok"
    notebook = with_answer("01_filter_policy.ipynb", "")
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "publish":
            cell.source = "pass"
        if meta.get("grade"):
            cell.source = "print('ok')"
    put(notebook, subs / "edited_locked" / "01_filter_policy.ipynb")
    # bad files: none may stop the class
    bad = subs / "bad_files"
    (bad / "02_fan_out.ipynb").mkdir(parents=True)
    (bad / "03_dead_letter_queue.ipynb").symlink_to("/nonexistent/notebook.ipynb")
    (bad / "04_fifo_groups.ipynb").symlink_to(source / "04_fifo_groups.ipynb")
    (bad / "05_idempotent_consumer.ipynb").write_text("{not json")
    with (bad / "06_acknowledge_after_processing.ipynb").open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # a huge (sparse) file
    notebook = nbformat.read(source / "01_filter_policy.ipynb", as_version=4)
    answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.metadata["nbgrader"]["grade_id"] = ["x"]
    (bad / "01_filter_policy.ipynb").write_text(json.dumps(notebook))
    (bad / "scratch.ipynb").write_text("{}")
    (subs / "=cmd|' calc'!A0").mkdir()
    (subs / "class.zip").write_bytes(b"PK")
    os.environ["MELANGE_TEACHER_SECRET"] = SECRET
    outside = fingerprints(root, skip=out)
    try:
        code = main(
            [
                "grade",
                str(subs),
                "--source",
                str(source),
                "--out",
                str(out),
                "--timeout",
                "15",
                "--jobs",
                "4",
            ]
        )
    finally:
        del os.environ["MELANGE_TEACHER_SECRET"]
    reports_after_run = fingerprints(out)
    try:
        listener.accept()
        phoned_home = True
    except BlockingIOError:
        phoned_home = False
    listener.close()
    time.sleep(6)  # longer than the vandal's delayed writes
    scores = {row["student"]: row for row in csv.DictReader((out / "scores.csv").open())}
    details = list(csv.DictReader((out / "details.csv").open()))
    return {
        "code": code, "root": root, "out": out, "outside": outside, "scores": scores,
        "details": details, "reports": reports_after_run, "source": source,
        "phoned_home": phoned_home,
    }  # fmt: skip


def result(hostile_class: dict[str, object], student: str, check: str) -> dict[str, str]:
    details = hostile_class["details"]
    assert isinstance(details, list)
    return next(d for d in details if d["student"] == student and d["check"] == check)


def test_the_class_is_graded_in_one_run(hostile_class: dict[str, object]) -> None:
    assert hostile_class["code"] == 0


def test_honest_work_scores_full_marks(hostile_class: dict[str, object]) -> None:
    for check in ("billing_gets_only_new_orders", "shipping_gets_everything", "no_invoice_lost",
                  "batch_goes_on_after_a_failure", "all_acknowledged"):  # fmt: skip
        assert result(hostile_class, "honest", check)["passed"] == "yes", check


def test_wrong_answer_loses_only_the_check_it_gets_wrong(hostile_class: dict[str, object]) -> None:
    assert result(hostile_class, "wrong", "shipping_gets_everything")["passed"] == "yes"
    billing = result(hostile_class, "wrong", "billing_gets_only_new_orders")
    assert billing["passed"] == "no" and "received 4 messages, expected 2" in billing["message"]


def test_hidden_tests_count_although_students_never_see_them(
    hostile_class: dict[str, object],
) -> None:
    assert result(hostile_class, "hidden_test", "billing_gets_only_new_orders")["passed"] == "yes"
    hidden = result(hostile_class, "hidden_test", "shipping_gets_everything")
    assert (
        hidden["passed"] == "no"
        and "an assertion of this check failed: hidden" in hidden["message"]
    )


def test_a_consume_that_stops_at_the_first_failure_loses_the_batch_check(
    hostile_class: dict[str, object],
) -> None:
    batch = result(hostile_class, "stops_batch", "batch_goes_on_after_a_failure")
    assert batch["passed"] == "no" and "must not stop the rest of the batch" in batch["message"]


@pytest.mark.parametrize("cheat", [*CHEATS, "edited_locked", "bonus_cell"])
def test_each_cheat_scores_zero_on_the_checks_it_attacks(
    hostile_class: dict[str, object], cheat: str
) -> None:
    scores = hostile_class["scores"]
    assert isinstance(scores, dict)
    assert scores[cheat]["total"] == "0", cheat


def test_nothing_outside_the_sandboxes_changed(hostile_class: dict[str, object]) -> None:
    root, out = hostile_class["root"], hostile_class["out"]
    assert isinstance(root, Path) and isinstance(out, Path)
    assert fingerprints(root, skip=out) == hostile_class["outside"]
    assert fingerprints(out) == hostile_class["reports"]  # not rewritten after the grader exited


def test_a_notebook_has_no_network(hostile_class: dict[str, object]) -> None:
    assert hostile_class["phoned_home"] is False


def test_no_process_outlives_the_run(hostile_class: dict[str, object]) -> None:
    assert marker_processes() == []


def test_no_teacher_secret_reaches_the_sandbox_or_the_reports(
    hostile_class: dict[str, object],
) -> None:
    out = hostile_class["out"]
    assert isinstance(out, Path)
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


def test_check_messages_hold_only_the_graders_own_sentences(
    hostile_class: dict[str, object],
) -> None:
    details = hostile_class["details"]
    assert isinstance(details, list)
    assert not [d for d in details if "LEAK" in d["message"]]


def test_no_csv_cell_can_run_as_a_spreadsheet_formula(hostile_class: dict[str, object]) -> None:
    out = hostile_class["out"]
    assert isinstance(out, Path)
    for table in ("scores.csv", "details.csv", "grades.csv"):
        for row in csv.reader((out / table).open()):
            assert not [cell for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")], row
    assert "'=cmd|' calc'!A0" in hostile_class["scores"]  # type: ignore[operator]
    cause = result(hostile_class, "formula_error", "billing_gets_only_new_orders")["cause"]
    assert "ValueError" in cause


def test_every_bad_file_is_a_zero_with_its_reason(hostile_class: dict[str, object]) -> None:
    reasons = {
        "01_filter_policy": None,  # a broken grade_id: the answer still runs
        "02_fan_out": "folder named like a notebook",
        "03_dead_letter_queue": "symbolic link",
        "04_fifo_groups": "symbolic link",
        "05_idempotent_consumer": "not valid JSON",
        "06_acknowledge_after_processing": "over the limit",
    }
    details = hostile_class["details"]
    assert isinstance(details, list)
    for exercise, reason in reasons.items():
        rows = [d for d in details if d["student"] == "bad_files" and d["exercise"] == exercise]
        assert rows, exercise
        if reason is None:
            assert all(d["passed"] == "yes" for d in rows), rows
        else:
            assert all(d["passed"] == "no" and reason in d["message"] for d in rows), rows


def test_a_time_limit_holds_for_the_whole_notebook(hostile_class: dict[str, object]) -> None:
    timed = result(hostile_class, "endless_and_deaf", "billing_gets_only_new_orders")
    assert "time limit" in timed["message"]
    executed = hostile_class["out"] / "executed" / "huge_output" / "01_filter_policy.ipynb"  # type: ignore[operator]
    assert executed.stat().st_size < 1024 * 1024
    exited = result(hostile_class, "exits_python", "billing_gets_only_new_orders")
    assert "ended Python" in exited["message"]


def test_feedback_pages_are_written_per_student_and_notebook(
    hostile_class: dict[str, object],
) -> None:
    out = hostile_class["out"]
    assert isinstance(out, Path)
    page = (out / "feedback" / "wrong" / "01_filter_policy.html").read_text()
    assert '<html lang="en">' in page and "<h1>" in page and "not passed" in page
    assert "received 4 messages, expected 2" in page
    grades = list(csv.DictReader((out / "grades.csv").open()))
    assert {"student_id", "score", "max_score"} <= set(grades[0])
