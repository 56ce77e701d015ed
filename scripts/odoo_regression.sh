#!/usr/bin/env bash
# Odoo's own test suites of hr_timesheet, project and sale_timesheet, run twice on the same
# port: in a database without hours_invoicing_exact and in a copy with it installed. Lists the
# tests that fail with the addon but pass without it; exits non-zero when there is any.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/common.sh
source "$here/scripts/common.sh"
odoo_found || { log "no Odoo 18 at $ODOO_SRC"; exit 2; }
bash "$here/scripts/bootstrap.sh"
exec "$VENV/bin/python" "$here/scripts/odoo_regression.py" "$@"
