"""moto's own SQS and SNS tests (its pinned sdist, fetched from PyPI at test time), run stock
and with every lab layer installed: the lab fails only what tests/suites/classification.json
lists, and every test it fails that stock moto passes is the lab following AWS on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.suites import moto_suite
from tests.suites.outcomes import Classification, Outcomes, verdict

# the two runs of the suite (about 3 minutes on 2 idle cores) count towards the first test
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcomes]]:
    results: Path = tmp_path_factory.mktemp("moto-suite")
    yield moto_suite.run_all(results)


@pytest.fixture(scope="module")
def classification() -> Classification:
    return Classification.load("moto")


def test_stock_moto_passes_its_own_suite(runs: dict[str, Outcomes]) -> None:
    stock = runs["stock"]
    assert len(stock.by_test) > 300, "the suite ran (almost) nothing"
    assert not stock.failed, {t: stock.message(t) for t in sorted(stock.failed)}


def test_the_lab_fails_only_the_classified_tests_of_motos_suite(
    runs: dict[str, Outcomes], classification: Classification
) -> None:
    found = verdict(runs["lab"], classification)
    assert found.clean, found.explain()


def test_every_test_the_lab_fails_and_stock_moto_passes_is_the_lab_following_aws(
    runs: dict[str, Outcomes], classification: Classification
) -> None:
    """No regression: where the lab answers otherwise than stock moto, it follows AWS (or,
    where nothing of AWS's settles it, the difference is listed as unverified)."""
    regressions = runs["stock"].passed & runs["lab"].failed
    explained = ("on-purpose", "unverified")
    unexplained = {
        test: classification.reason_of[test].kind if test in classification.reason_of else None
        for test in regressions
        if test not in classification.reason_of
        or classification.reason_of[test].kind not in explained
    }
    assert not unexplained, unexplained


def test_the_lab_skips_no_more_of_motos_suite_than_stock_moto(runs: dict[str, Outcomes]) -> None:
    assert runs["lab"].skipped == runs["stock"].skipped
