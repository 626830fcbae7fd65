"""The lab over HTTP: a ``SimulatedBroker`` with moto's server in the same process.

Run as ``python -m tests.suites.lab_server -H 127.0.0.1 -p PORT`` (moto's server's options).
The broker installs every lab layer into moto and starts ``mock_aws``; moto's
``ThreadedMotoServer`` in the same process answers HTTP from the same (patched) backends, so
a client on the port meets the lab's behaviour, not stock moto's. It serves until killed.
(The events work adds ``melange-lab serve`` for this; the fidelity harness moves to it once
it exists, see ``tests/suites/endpoints.py``.)
"""

from __future__ import annotations

import argparse
import signal
import threading

from moto.server import ThreadedMotoServer

from melange_lab import SimulatedBroker


def main(host: str, port: int) -> None:
    broker = SimulatedBroker()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(f"lab serving on http://{host}:{port}", flush=True)
    try:
        stopped.wait()
    finally:
        server.stop()
        broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.suites.lab_server")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    options = parser.parse_args()
    main(options.host, options.port)
