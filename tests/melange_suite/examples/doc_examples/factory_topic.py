# Ported from melange 7.2.0, melange/examples/doc_examples/factory_topic.py (https://github.com/Rydra/melange, tag 7.2.0).
# Copyright (c) 2017-2022 David Jiménez. MIT License: see LICENSE beside this suite.
# Port: imports `melange` -> `melange_lab`, the backend line -> the simulated broker; see README.md here for every change.

from melange_lab import MessagingBackendFactory, SimulatedBroker

backend = SimulatedBroker.default().backend
factory = MessagingBackendFactory(backend)
factory.init_topic("my-topic")
