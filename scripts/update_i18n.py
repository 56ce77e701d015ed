"""Export the addon's translatable strings and merge them into i18n/nl.po.

Writes ``i18n/hours_invoicing_exact.pot`` from a database with the addon installed (copied
from the test template), then updates ``i18n/nl.po``: known translations are kept, new
strings are added untranslated, strings no longer in the source are dropped. Prints the
strings still to translate. Usage: python scripts/update_i18n.py
"""

import io
import subprocess
import sys
from pathlib import Path

import polib

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_tests  # noqa: E402

I18N = run_tests.ROOT / run_tests.ADDON / "i18n"


def export_pot():
    db = "hie_i18n_export"
    run_tests.psql("-c", f'DROP DATABASE IF EXISTS "{db}"')
    subprocess.run(["createdb", "-T", run_tests.ensure_template(), db], check=True)
    try:
        pot = I18N / f"{run_tests.ADDON}.pot"
        res = run_tests.run(run_tests.odoo_cmd(
            db, "-i", run_tests.ADDON, "--without-demo", "all", "--log-level", "warn",
        ))
        if res.returncode:
            raise SystemExit("installing the addon failed")
        sys.path.insert(0, str(run_tests.ODOO_SRC))
        import odoo  # noqa: PLC0415
        from odoo.tools.translate import trans_export  # noqa: PLC0415

        odoo.tools.config.parse_config([
            "--addons-path", run_tests.addons_path(),
            "--db_host", "/var/run/postgresql", "--log-level", "warn",
        ])
        buffer = io.BytesIO()
        with odoo.modules.registry.Registry(db).cursor() as cr:
            trans_export(False, [run_tests.ADDON], buffer, "po", cr)
        pot.write_bytes(buffer.getvalue())
        return polib.pofile(str(pot))
    finally:
        run_tests.psql("-c", f'DROP DATABASE IF EXISTS "{db}"')


def merge(template):
    path = I18N / "nl.po"
    old = polib.pofile(str(path)) if path.exists() else polib.POFile()
    known = {entry.msgid: entry for entry in old}
    new = polib.POFile(wrapwidth=78)
    new.metadata = template.metadata
    new.metadata.update({"Language": "nl", "Content-Type": "text/plain; charset=UTF-8",
                         "Plural-Forms": "nplurals=2; plural=(n != 1);"})
    todo = []
    for entry in template:
        previous = known.get(entry.msgid)
        entry.msgstr = previous.msgstr if previous else ""
        if previous and "fuzzy" in previous.flags:
            entry.flags.append("fuzzy")
        if not entry.msgstr:
            todo.append(entry.msgid)
        new.append(entry)
    buffer = io.StringIO(str(new))
    path.write_text(buffer.getvalue())
    return todo


def main():
    I18N.mkdir(exist_ok=True)
    todo = merge(export_pot())
    print(f"{len(todo)} strings to translate in i18n/nl.po")
    for msgid in todo:
        print("  " + msgid.replace("\n", "\\n")[:120])


if __name__ == "__main__":
    main()
