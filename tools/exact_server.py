"""Run the fake Exact Online server for demos: ``python tools/exact_server.py --port 8069``.

Point the addon's Exact connection at the printed base URL, with the printed client id
and secret. The server consents to every authorization request at once. It keeps its
data in memory and forgets it on exit.
"""

import argparse
import pathlib
import sys
import time
import types

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _import_server():
    """Import the server without importing the Odoo addon's models."""
    if "hours_invoicing_exact" not in sys.modules:
        package = types.ModuleType("hours_invoicing_exact")
        package.__path__ = [str(ROOT / "hours_invoicing_exact")]
        sys.modules["hours_invoicing_exact"] = package
    sys.path.insert(0, str(ROOT))
    from hie_testing.exact_server import ExactServer
    from hours_invoicing_exact.services.exact.clock import SystemClock, VirtualClock

    return ExactServer, SystemClock, VirtualClock


def main(argv=None) -> int:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--division", type=int, action="append", help="division code(s)")
    parser.add_argument("--minutely-limit", type=int, default=60)
    parser.add_argument("--daily-limit", type=int, default=5000)
    parser.add_argument("--client-id", default="test-client-id")
    parser.add_argument("--client-secret", default="test-client-secret")
    parser.add_argument(
        "--virtual-clock", action="store_true", help="freeze time instead of using the wall clock"
    )
    args = parser.parse_args(argv)
    server_class, system_clock, virtual_clock = _import_server()
    server = server_class(
        clock=virtual_clock() if args.virtual_clock else system_clock(),
        client_id=args.client_id,
        client_secret=args.client_secret,
        divisions=tuple(args.division or (1234,)),
        minutely_limit=args.minutely_limit,
        daily_limit=args.daily_limit,
        host=args.host,
        port=args.port,
    )
    with server:
        print(f"Fake Exact Online on {server.base_url}")
        print(f"client id {args.client_id!r}, secret {args.client_secret!r}")
        print(f"divisions {server.divisions}; Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
