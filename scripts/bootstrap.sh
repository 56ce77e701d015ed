#!/usr/bin/env bash
# Install what the project needs on a fresh Debian machine (idempotent):
# PostgreSQL 15 (started, with a superuser for the current user), Debian's Chromium for
# browser tours, wkhtmltopdf (invoice PDFs) and pdftotext, and a Python virtual environment with Odoo 18's requirements and ours.
# Odoo itself is NOT installed here: it is found through $ODOO_SRC (default ~/odoo18).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/common.sh
source "$here/scripts/common.sh"

need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql postgresql-contrib)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# printing invoices to PDF, and reading their text back in the tests
command -v wkhtmltopdf >/dev/null 2>&1 || need_apt+=(wkhtmltopdf)
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
# Debian's wkhtmltopdf (unpatched Qt) draws the text of web fonts as outlines: PDFs use the
# installed Lato instead (see hours_invoicing_exact/report/report_pdf_fonts.xml)
fc-list 2>/dev/null | grep -qi "/lato/" || need_apt+=(fonts-lato)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

start_postgres

if [ ! -x "$VENV/bin/python" ]; then
  log "creating Python environment in $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.hie-requirements"
want="$(cat "$ODOO_REQS" "$here/requirements-dev.txt" "$here/requirements-oca.txt" | sha1sum | cut -c1-40)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing Python requirements"
  "$VENV/bin/pip" install -q --upgrade pip wheel 2>&1 | { grep -v "^WARNING: Location" || true; }
  "$VENV/bin/pip" install -q -r "$ODOO_REQS" -r "$here/requirements-dev.txt" 2>&1 | { grep -v "^WARNING: Location" || true; }
  # OCA addons: without their "odoo" requirement (Odoo is not a PyPI package here)
  if grep -qv '^\s*\(#\|$\)' "$here/requirements-oca.txt"; then
    "$VENV/bin/pip" install -q --no-deps -r "$here/requirements-oca.txt" 2>&1 | { grep -v "^WARNING: Location" || true; }
  fi
  echo "$want" > "$stamp"
fi
log "environment ready: $VENV"
