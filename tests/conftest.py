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
