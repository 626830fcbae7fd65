"""The trimmed wheels the Lite site serves: what they keep, what they leave out, and that a
trimmed moto never leaves out a package its kept modules import when they load."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from lite import LiteBuildError
from lite.trim import moto_packages, trim_botocore, trim_jedi, trim_moto
from lite.wheels import read_wheel
from tests.lite.wheel_factory import make_wheel


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if ".dist-info/" not in name}


def test_botocore_keeps_its_code_shared_data_and_the_labs_services_only(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "botocore",
        "1.44.8",
        {
            "botocore/session.py": b"",
            "botocore/data/endpoints.json": b"{}",
            "botocore/data/sqs/2012-11-05/service-2.json.gz": b"",
            "botocore/data/sqs/2012-11-05/examples-1.json": b"",
            "botocore/data/sns/2010-03-31/service-2.json.gz": b"",
            "botocore/data/s3/2006-03-01/service-2.json.gz": b"",
        },
    )
    trimmed = trim_botocore(wheel, tmp_path / "out")
    assert _names(trimmed) == {
        "botocore/session.py",
        "botocore/data/endpoints.json",
        "botocore/data/sqs/2012-11-05/service-2.json.gz",
        "botocore/data/sns/2010-03-31/service-2.json.gz",
    }
    info = read_wheel(trimmed)
    assert (info.name, info.version) == ("botocore", "1.44.8+lite")
    assert trimmed.name == "botocore-1.44.8+lite-py3-none-any.whl"


MOTO = {
    "moto/__init__.py": b"from moto.core.decorator import mock_aws\n",
    "moto/settings.py": b"",
    "moto/server.py": b"from moto.moto_server.app import run\n",
    "moto/core/__init__.py": b"from .models import x\n",
    "moto/core/models.py": b"def f():\n    from moto.lambda_ import y\n",
    "moto/moto_api/__init__.py": b"",
    "moto/utilities/__init__.py": b"",
    "moto/sqs/__init__.py": b"from .models import sqs_backends\n",
    "moto/sqs/models.py": b"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
    b"    from moto.ec2 import z\n",
    "moto/sns/__init__.py": b"from moto import settings\n",
    "moto/sns/models.py": b"from moto.sqs import sqs_backends\n",
    "moto/iam/__init__.py": b"",
    "moto/iam/models.py": b"from .aws_managed_policies import data\nfrom ..s3.models import s\n",
    "moto/iam/aws_managed_policies.py": b'aws_managed_policies_data = """' + b"x" * 1000 + b'"""\n',
    "moto/s3/__init__.py": b"",
    "moto/s3/models.py": b"from moto.events.utils import e\n",
    "moto/events/__init__.py": b"",
    "moto/events/utils.py": b"",
    "moto/lambda_/__init__.py": b"",
    "moto/ec2/__init__.py": b"",
    "moto/moto_server/app.py": b"",
}


def test_moto_keeps_the_packages_its_kept_modules_import_when_they_load(tmp_path: Path) -> None:
    assert moto_packages(MOTO) == frozenset(
        {"", "core", "moto_api", "utilities", "sns", "sqs", "iam", "s3", "events"}
    )  # not lambda_ (imported in a function), ec2 (TYPE_CHECKING), moto_server (server.py)
    trimmed = trim_moto(make_wheel(tmp_path, "moto", "5.2.5", MOTO), tmp_path / "out")
    names = _names(trimmed)
    assert "moto/events/utils.py" in names and "moto/iam/models.py" in names
    assert not {"moto/lambda_/__init__.py", "moto/ec2/__init__.py", "moto/server.py"} & names
    with zipfile.ZipFile(trimmed) as archive:
        policies = archive.read("moto/iam/aws_managed_policies.py")
    assert policies == b'aws_managed_policies_data = "{}"\n'


def test_a_moto_without_one_of_the_labs_packages_is_refused() -> None:
    without_sqs = {name: data for name, data in MOTO.items() if "/sqs/" not in name}
    with pytest.raises(LiteBuildError, match="moto's wheel has no package sqs"):
        moto_packages(without_sqs)


def test_jedi_keeps_the_standard_librarys_stubs_only(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "jedi",
        "0.20.1",
        {
            "jedi/__init__.py": b"",
            "jedi/third_party/typeshed/stdlib/os/__init__.pyi": b"",
            "jedi/third_party/typeshed/stubs/pywin32/win32api.pyi": b"",
        },
    )
    assert _names(trim_jedi(wheel, tmp_path / "out")) == {
        "jedi/__init__.py",
        "jedi/third_party/typeshed/stdlib/os/__init__.pyi",
    }
