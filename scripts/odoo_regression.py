"""Compare Odoo's own hr_timesheet, project and sale_timesheet tests with and without the addon.

Both runs update the three modules with ``--test-enable`` on the same HTTP port (Odoo's
project tests depend on the base URL's port), in databases that differ only by the addon.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_tests  # noqa: E402

MODULES = "hr_timesheet,project,sale_timesheet"
PORT = os.environ.get("HIE_REGRESSION_PORT", "8179")
TEST_RE = re.compile(r" (ERROR|CRITICAL) \S+ (odoo\.addons\.[\w.]+): (FAIL|ERROR): (.+?)\s*$")
# a class whose setUpClass fails runs none of its tests: counted as one failure of the class
SETUP_RE = re.compile(r" (ERROR|CRITICAL) \S+ odoo\.tests\.suite: ERROR: setUpClass "
                      r"\((odoo\.addons\.[\w.]+)\.(\w+)\)")


def psql(sql, db="postgres"):
    return run_tests.psql("-c", sql, db=db)


def build(db, modules):
    psql(f'DROP DATABASE IF EXISTS "{db}"')
    res = run_tests.run(run_tests.odoo_cmd(db, "-i", modules, "--log-level", "warn"))
    if res.returncode:
        raise SystemExit(f"installing {modules} into {db} failed")
    psql(f"UPDATE ir_config_parameter SET value = 'http://127.0.0.1:{PORT}' "
         "WHERE key = 'web.base.url'", db=db)
    psql("INSERT INTO ir_config_parameter (key, value) VALUES ('web.base.url.freeze', 'True') "
         "ON CONFLICT (key) DO UPDATE SET value = 'True'", db=db)


def run_suite(db, log_path, tags=None):
    """Run the three suites, updating the modules; or, with ``tags``, just those tests."""
    extra = ["--test-tags", tags] if tags else [
        "-u", MODULES, "--test-tags", ",".join(f"/{m}" for m in MODULES.split(","))]
    cmd = run_tests.odoo_cmd(db, "--test-enable", "--http-port", PORT, *extra)
    failing, summary = set(), None
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log.write(line)
            m = TEST_RE.search(line)
            if m:
                failing.add(f"{m.group(2)}: {m.group(4)}")
            m = SETUP_RE.search(line)
            if m:
                failing.add(f"{m.group(2)}: {m.group(3)}")
            m = run_tests.SUMMARY_RE.search(line)
            if m:
                summary = m.group(0)
        proc.wait()
    return failing, summary


def main():
    var = run_tests.ROOT / "var"
    var.mkdir(exist_ok=True)
    base, with_addon = "hie_regr_without", "hie_regr_with"
    build(base, MODULES)
    psql(f'DROP DATABASE IF EXISTS "{with_addon}"')
    subprocess.run(["createdb", "-T", base, with_addon], check=True)
    res = run_tests.run(run_tests.odoo_cmd(with_addon, "-i", run_tests.ADDON,
                                           "--log-level", "warn"))
    if res.returncode:
        raise SystemExit("installing the addon failed")
    results = {}
    for db in (base, with_addon):
        results[db] = run_suite(db, var / f"regression-{db}.log")
        print(f"[regression] {db}: {results[db][1]}; failing: {sorted(results[db][0])}",
              flush=True)
    new_failures = sorted(results[with_addon][0] - results[base][0])
    # Browser tours are timing-sensitive on a loaded machine: a test that failed only with the
    # addon is run again, alone, twice in each database; it is a regression only when it
    # still fails with the addon and passes without it.
    confirmed = []
    for name in new_failures:
        module, test = name.split(": ", 1)
        tag = f"/{module.split('.')[2]}:{test.split(' ')[0]}"
        reruns = {db: [bool(run_suite(db, var / f"rerun-{db}.log", tag)[0]) for _ in range(2)]
                  for db in (base, with_addon)}
        print(f"[regression] rerun {tag}: fails with addon {reruns[with_addon]}, "
              f"without {reruns[base]}", flush=True)
        if all(reruns[with_addon]) and not any(reruns[base]):
            confirmed.append(name)
    new_failures = confirmed
    for name in new_failures:
        print(f"[regression] FAILS ONLY WITH THE ADDON: {name}")
    print(f"[regression] {len(new_failures)} test(s) fail with the addon and pass without it")
    return 1 if new_failures else 0


if __name__ == "__main__":
    sys.exit(main())
