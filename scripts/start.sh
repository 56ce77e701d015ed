#!/usr/bin/env bash
# Set up a fresh machine and start Odoo 18 with hours_invoicing_exact and demo data on
# http://127.0.0.1:${HIE_PORT:-8069} (login admin / admin). Database: ${HIE_DB:-hie_demo}.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/common.sh
source "$here/scripts/common.sh"
if ! odoo_found; then
  cat >&2 <<MSG
Odoo 18 source not found at \$ODOO_SRC=$ODOO_SRC.
Get Odoo 18.0 community (the odoo/ folder and odoo-bin) into that folder, for example:
  git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo.git "$ODOO_SRC"
or point ODOO_SRC at an existing Odoo 18 checkout. Then run this command again.
MSG
  exit 2
fi
bash "$here/scripts/bootstrap.sh"
db="${HIE_DB:-hie_demo}"
addons="$("$VENV/bin/python" -c "import sys; sys.path.insert(0, sys.argv[1]); import run_tests; print(run_tests.addons_path())" "$here/scripts")"
args=(--addons-path "$addons" -d "$db" --db_host "$PGHOST"
      --http-interface 127.0.0.1 --http-port "${HIE_PORT:-8069}")
if ! psql -X -qtA -d postgres -c "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
  # A Dutch main company, as in the tests: the database is copied from the test template
  # (base first, the company made Dutch, then accounting: Dutch chart, EUR, BTW; built once,
  # a few minutes), then the addon and its demo data are installed into the copy.
  log "creating database $db: Dutch company, hours_invoicing_exact and demo data (a few minutes)"
  "$VENV/bin/python" - "$here/scripts" "$db" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import run_tests
run_tests.database_from_template(sys.argv[2])
PY
else
  "$VENV/bin/python" "$ODOO_SRC/odoo-bin" "${args[@]}" -u hours_invoicing_exact --stop-after-init
fi
log "Odoo on http://127.0.0.1:${HIE_PORT:-8069} — login admin / admin"
exec "$VENV/bin/python" "$ODOO_SRC/odoo-bin" "${args[@]}" "$@"
