"""The addon builds as an ``odoo-addon-*`` wheel that declares its external dependencies."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

ADDON = Path(__file__).resolve().parent.parent / "hours_invoicing_exact"


def test_manifest_declares_external_dependencies():
    manifest = ast.literal_eval((ADDON / "__manifest__.py").read_text())
    assert manifest["license"] == "LGPL-3"
    # account_credit_control (OCA) for payment reminders, sms for their text messages,
    # contract (OCA) for recurring invoices: pinned odoo-addon-* wheels
    assert set(manifest["depends"]) == {"hr_timesheet", "account", "sms",
                                        "account_credit_control", "contract"}
    assert set(manifest["external_dependencies"]["python"]) >= {
        "requests", "zeep", "python-stdnum"
    }


def test_wheel_metadata(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path), str(ADDON)],
        check=True,
    )
    (wheel,) = tmp_path.glob("odoo_addon_hours_invoicing_exact-18.0.*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = {
            line.split(":", 1)[1].strip().split(" ")[0].split("=")[0].split(">")[0]
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        }
    assert {"requests", "zeep", "python-stdnum", "odoo-addon-account_credit_control",
            "odoo-addon-contract"} <= requires
    assert any(n.startswith("odoo/addons/hours_invoicing_exact/__manifest__.py") for n in names)
    assert any(n.endswith("services/rates.py") for n in names)
    # the Twinfield WSDL ships with the addon: never fetched at run time
    assert any(n.endswith("services/twinfield/wsdl/processxml.wsdl") for n in names)
    # test tooling is not shipped
    assert not any("exact_server" in n or "twinfield_server" in n or "hie_testing" in n
                   for n in names)


def test_runtime_code_does_not_import_the_test_tooling():
    """Only the addon's tests import ``hie_testing`` (the local Exact server)."""
    offenders = [
        str(path.relative_to(ADDON)) for path in ADDON.rglob("*.py")
        if "tests" not in path.relative_to(ADDON).parts
        and any(name in path.read_text()
                for name in ("hie_testing", "exact_server", "twinfield_server"))
    ]
    assert offenders == []
