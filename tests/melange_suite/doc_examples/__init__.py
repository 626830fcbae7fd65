# Ported from melange 7.2.0, tests/doc_examples/__init__.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`; see README.md here for every change.
