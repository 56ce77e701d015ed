"""Orchestrate the project's test suite and print one closing "N passed, N failed" line.

Steps, each counted:
1. linters (ruff, pylint-odoo) — one check each;
2. the Odoo-free pytest suite under ``tests/`` — every test case;
3. when Odoo 18 is found (``$ODOO_SRC``): the addon's Odoo tests, run by ``odoo-bin
   --test-enable`` in a database copied from a cached template (``createdb -T``), every test
   case; a browser tour skipped for a missing tool counts as a failure; then uninstalling the
   addon from that database — one check.
Options: ``--only pytest|odoo|lint`` to run one part, ``--keep-db`` to keep the test database.
"""

import argparse
import hashlib
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = "hours_invoicing_exact"
ODOO_SRC = Path(os.environ.get("ODOO_SRC", Path.home() / "odoo18"))
VENV_PY = sys.executable
# What the template database holds: the addon's dependencies, and what its tests use, on a
# Dutch company: l10n_nl (Dutch chart, EUR, BTW 21/9/0 %, reverse charge).
TEMPLATE_MODULES = "account,hr_timesheet,account_edi_ubl_cii,l10n_nl"
TEMPLATE_VERSION = "nl-1"  # bump when the way the template is built changes

SUMMARY_RE = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
SKIP_RE = re.compile(r"odoo\.tests\.[\w.]*: skipped (.*)")
FAIL_RE = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) \S+ (odoo\.addons\.\S+): (FAIL|ERROR): (.*)$")


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.notes = []

    def add(self, passed, failed, label):
        self.passed += passed
        self.failed += failed
        self.notes.append(f"{label}: {passed} passed, {failed} failed")
        print(f"[tests] {label}: {passed} passed, {failed} failed", flush=True)


def run(cmd, **kw):
    print("[tests] $ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run(cmd, check=False, **kw)


def lint(tally):
    bin_dir = Path(VENV_PY).parent
    res = run([bin_dir / "ruff", "check", "."], cwd=ROOT)
    tally.add(int(res.returncode == 0), int(res.returncode != 0), "ruff")
    res = run(
        [bin_dir / "pylint", "--rcfile", ROOT / ".pylintrc", ADDON],
        cwd=ROOT,
    )
    tally.add(int(res.returncode == 0), int(res.returncode != 0), "pylint-odoo")


def pytest_part(tally):
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        res = run([VENV_PY, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   f"--junitxml={junit}", "tests"], cwd=ROOT)
        if not junit.exists():
            tally.add(0, 1, f"pytest (exit {res.returncode}, no report)")
            return
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        total = int(suite.get("tests", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        if skipped:
            print(f"[tests] pytest skipped {skipped} test(s): counted as failed", flush=True)
        tally.add(total - bad - skipped, bad + skipped, "pytest (Odoo-free)")


def psql(*args, db="postgres"):
    return subprocess.run(["psql", "-X", "-qtA", "-d", db, *args],
                          capture_output=True, text=True, check=False)


def db_exists(name):
    res = psql("-c", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    return res.stdout.strip() == "1"


def addons_path():
    """Odoo's addons path: Odoo's own addons, the OCA addons installed as wheels from
    ``requirements-oca.txt`` (under the environment's ``odoo/addons``) and this repository."""
    oca = Path(sysconfig.get_paths()["purelib"]) / "odoo" / "addons"
    paths = [ODOO_SRC / "odoo" / "addons", ODOO_SRC / "addons", oca, ROOT]
    return ",".join(str(p) for p in paths if p.is_dir())


def odoo_cmd(db, *extra):
    return [VENV_PY, str(ODOO_SRC / "odoo-bin"), "--addons-path", addons_path(), "-d", db,
            "--db_host", os.environ.get("PGHOST", "/var/run/postgresql"),
            "--log-level", "info", "--max-cron-threads", "0", "--stop-after-init",
            "--http-interface", "127.0.0.1", *extra]


def template_name():
    release = (ODOO_SRC / "odoo" / "release.py").read_bytes()
    key = hashlib.sha1(
        release + TEMPLATE_MODULES.encode() + TEMPLATE_VERSION.encode() + str(ODOO_SRC).encode()
    ).hexdigest()
    return f"hie_tmpl_{key[:10]}"


def ensure_template():
    name = template_name()
    if db_exists(name):
        return name
    building = name + "_building"
    psql("-c", f'DROP DATABASE IF EXISTS "{building}"')
    print(f"[tests] building template database {name} ({TEMPLATE_MODULES}) on a Dutch "
          "company, a few minutes", flush=True)
    # 1. base only, then the main company becomes Dutch, so that installing account loads
    #    the Dutch chart (l10n_nl, EUR) on it and not Odoo's generic one
    res = run(odoo_cmd(building, "-i", "base", "--log-level", "warn"))
    if res.returncode != 0:
        raise SystemExit("could not build the template database (base)")
    res = psql("-c", "UPDATE res_partner SET country_id = (SELECT id FROM res_country"
               " WHERE code = 'NL') WHERE id = (SELECT partner_id FROM res_company"
               " ORDER BY id LIMIT 1)", db=building)
    if res.returncode != 0:
        raise SystemExit(f"could not make the template company Dutch: {res.stderr}")
    res = run(odoo_cmd(building, "-i", TEMPLATE_MODULES, "--log-level", "warn"))
    if res.returncode != 0:
        raise SystemExit("could not build the template database")
    res = psql("-c", "SELECT c.chart_template || ' ' || cur.name FROM res_company c"
               " JOIN res_currency cur ON cur.id = c.currency_id ORDER BY c.id LIMIT 1",
               db=building)
    if res.stdout.strip() != "nl EUR":
        raise SystemExit(f"template company is not Dutch (chart, currency: {res.stdout!r})")
    psql("-c", f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return name


def database_from_template(name, modules=None):
    """(Re)create database ``name`` from the template and install ``modules`` (default: the
    addon) into it; for benchmarks and tools."""
    psql("-c", f'DROP DATABASE IF EXISTS "{name}"')
    subprocess.run(["createdb", "-T", ensure_template(), name], check=True)
    res = run(odoo_cmd(name, "-i", modules or ADDON, "--log-level", "warn"))
    if res.returncode:
        raise SystemExit(f"installing {modules or ADDON} into {name} failed")


def odoo_part(tally, keep_db=False, tags=None):
    template = ensure_template()
    db = f"hie_test_{os.getpid()}"
    psql("-c", f'DROP DATABASE IF EXISTS "{db}"')
    subprocess.run(["createdb", "-T", template, db], check=True)
    port = os.environ.get("HIE_TEST_PORT", "8169")
    log = ROOT / "var" / f"odoo-tests-{db}.log"
    log.parent.mkdir(exist_ok=True)
    try:
        start = time.time()
        with log.open("w") as fh:
            proc = subprocess.Popen(
                odoo_cmd(db, "-i", ADDON, "--test-enable", "--test-tags", tags or f"/{ADDON}",
                         "--http-port", port),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
            summary = None
            skips, fails = [], []
            for line in proc.stdout:
                fh.write(line)
                m = SUMMARY_RE.search(line)
                if m:
                    summary = tuple(int(g) for g in m.groups())
                m = SKIP_RE.search(line)
                if m:
                    skips.append(m.group(1))
                m = FAIL_RE.match(line)
                if m:
                    fails.append(f"{m.group(3)}: {m.group(4)}")
                if " ERROR " in line or " CRITICAL " in line or "FAIL:" in line:
                    sys.stdout.write(line)
            proc.wait()
        print(f"[tests] Odoo run took {time.time() - start:.0f}s; full log in {log}", flush=True)
        for s in skips:
            print(f"[tests] SKIPPED (counted as failed): {s}", flush=True)
        if summary is None:
            tally.add(0, 1, f"odoo tests (no summary, exit {proc.returncode})")
        else:
            failed, errors, total = summary
            bad = failed + errors + len(skips)
            tally.add(total - failed - errors - len(skips), bad, "odoo tests")
            if proc.returncode != 0 and not bad:
                tally.add(0, 1, f"odoo exited {proc.returncode}")
        if not keep_db:
            uninstall_check(tally, db)
    finally:
        if not keep_db:
            psql("-c", f'DROP DATABASE IF EXISTS "{db}"')


def uninstall_check(tally, db):
    """Uninstall the addon from the tested database: it must leave without an error."""
    script = (
        "mod = env['ir.module.module'].search([('name', '=', 'hours_invoicing_exact')])\n"
        "mod.button_immediate_uninstall()\n"
        "env.cr.commit()\n"
        "env.cr.execute(\"SELECT count(*) FROM ir_model WHERE model = 'project.rate.agreement'\")\n"
        "models_left = env.cr.fetchone()[0]\n"
        "env.cr.execute(\"SELECT count(*) FROM information_schema.columns WHERE \"\n"
        "               \"table_name = 'project_project' AND column_name = 'invoicing_type'\")\n"
        "columns_left = env.cr.fetchone()[0]\n"
        "env.cr.execute(\"SELECT state FROM ir_module_module \"\n"
        "               \"WHERE name = 'hours_invoicing_exact'\")\n"
        "print('HIE-UNINSTALL', env.cr.fetchone()[0], models_left, columns_left)\n"
    )
    cmd = odoo_cmd(db, "--log-level", "warn")
    cmd.remove("--stop-after-init")
    cmd.insert(2, "shell")
    res = run(cmd, input=script, text=True, capture_output=True, cwd=ROOT)
    m = re.search(r"HIE-UNINSTALL (\S+) (\d+) (\d+)", res.stdout)
    ok = bool(m) and m.group(1) == "uninstalled" and m.group(2) == "0" and m.group(3) == "0"
    if not ok:
        print(res.stdout[-3000:], res.stderr[-3000:])
    tally.add(int(ok), int(not ok), "uninstall")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["lint", "pytest", "odoo"])
    parser.add_argument("--keep-db", action="store_true",
                        help="keep the Odoo test database (and skip the uninstall check)")
    parser.add_argument("--tags", help="Odoo --test-tags, e.g. /hours_invoicing_exact:TestX")
    args = parser.parse_args()
    tally = Tally()
    if args.only in (None, "lint"):
        lint(tally)
    if args.only in (None, "pytest"):
        pytest_part(tally)
    if args.only in (None, "odoo"):
        if (ODOO_SRC / "odoo-bin").is_file():
            odoo_part(tally, keep_db=args.keep_db, tags=args.tags)
        else:
            print("#" * 78)
            print(f"[tests] ODOO TESTS SKIPPED: no Odoo 18 source at {ODOO_SRC} (set ODOO_SRC;"
                  " see README.md 'Getting Odoo 18'). Only the Odoo-free half ran.")
            print("#" * 78, flush=True)
    for note in tally.notes:
        print(f"[tests]   {note}")
    print(f"{tally.passed} passed, {tally.failed} failed", flush=True)
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
