"""Make ``hours_invoicing_exact.services`` importable without Odoo.

The addon's ``__init__`` imports its Odoo models; the Odoo-free core must be testable without
Odoo, so a bare package object stands in for the addon and only its sub-packages are loaded.
"""
import pathlib
import sys
import types

ROOT = pathlib.Path(__file__).resolve().parent.parent
ADDON = ROOT / "hours_invoicing_exact"

if "hours_invoicing_exact" not in sys.modules:
    pkg = types.ModuleType("hours_invoicing_exact")
    pkg.__path__ = [str(ADDON)]
    sys.modules["hours_invoicing_exact"] = pkg
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# Shared fixtures of the Exact Online tests: a local Exact server, a token file, and a client
# of that server that already holds a token chain.
import pytest  # noqa: E402
from exact_support import make_client  # noqa: E402

from hie_testing.exact_server import ExactServer  # noqa: E402


@pytest.fixture
def server():
    with ExactServer() as running:
        yield running


@pytest.fixture
def token_path(tmp_path):
    return tmp_path / "tokens.json"


@pytest.fixture
def client(server, token_path):
    return make_client(
        server.base_url, token_path, server.clock, store_tokens=server.issue_tokens()
    )
