"""Other projects' test suites, run against the lab: moto's own SQS/SNS tests (its pinned
sdist, fetched from PyPI at test time) and LocalStack's AWS-validated SNS/SQS tests (a
LocalStack checkout given by ``LOCALSTACK_TESTS``). Nothing of theirs is committed: only the
pins, this harness and our classification of every test the lab does not pass
(``classification.json``). ``python -m tests.suites`` runs them (``make fidelity``)."""
