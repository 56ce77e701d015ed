# Shared settings for the project's scripts. Source it; do not run it.
HIE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ODOO_SRC="${ODOO_SRC:-$HOME/odoo18}"
export VENV="${HIE_VENV:-$HOME/.cache/hours_invoicing_exact/venv}"
export PGHOST="${PGHOST:-/var/run/postgresql}"
export PGUSER="${PGUSER:-$(id -un)}"
# Odoo's pinned requirements: the project's own copy (nothing outside the repository).
export ODOO_REQS="$HIE_ROOT/requirements-odoo18.txt"

log() { printf '[hie] %s\n' "$*" >&2; }

odoo_found() { [ -f "$ODOO_SRC/odoo-bin" ] && [ -d "$ODOO_SRC/odoo/addons/hr_timesheet" ]; }

start_postgres() {
  if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
    local ver name
    read -r ver name _ < <(pg_lsclusters -h | head -n1)
    if [ -z "${ver:-}" ]; then
      pg_createcluster 15 main >/dev/null
      ver=15; name=main
    fi
    log "starting PostgreSQL $ver/$name"
    pg_ctlcluster "$ver" "$name" start
  fi
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- env PGUSER=postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='$PGUSER'" | grep -q 1 \
      || runuser -u postgres -- env PGUSER=postgres createuser -s "$PGUSER"
  fi
}
