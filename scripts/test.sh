#!/usr/bin/env bash
# Run every test of the project: linters, the Odoo-free pytest suite and, when Odoo 18 is
# found through $ODOO_SRC (default ~/odoo18), the addon's tests inside real Odoo + PostgreSQL.
# Ends with one line "N passed, N failed". Exit code 0 only when nothing failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/common.sh
source "$here/scripts/common.sh"
bash "$here/scripts/bootstrap.sh"
exec "$VENV/bin/python" "$here/scripts/run_tests.py" "$@"
