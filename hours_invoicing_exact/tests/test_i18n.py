# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import io
import re
from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import trans_export

PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdf]|%[sdf]")


@tagged("post_install", "-at_install")
class TestDutchTranslation(TransactionCase):
    """i18n/nl.po translates every user-facing string the addon has, with the same
    placeholders."""

    def test_nl_po_complete(self):
        buffer = io.BytesIO()
        trans_export(False, ["hours_invoicing_exact"], buffer, "po", self.env.cr)
        template = polib.pofile(buffer.getvalue().decode())
        source = {entry.msgid for entry in template}
        self.assertGreater(len(source), 50)
        # Odoo loads nl.po merged with the .pot (odoo/tools/translate.py PoFileReader): an
        # entry whose msgid is missing from the .pot is dropped and never reaches the users
        pot = polib.pofile(str(Path(__file__).parent.parent / "i18n" /
                               "hours_invoicing_exact.pot"))
        not_in_pot = sorted(source - {entry.msgid for entry in pot})
        self.assertFalse(not_in_pot, f"{len(not_in_pot)} strings missing from the .pot (run "
                                     f"scripts/update_i18n.py): {not_in_pot[:20]}")
        translation = polib.pofile(str(Path(__file__).parent.parent / "i18n" / "nl.po"))
        translated = {entry.msgid: entry.msgstr for entry in translation
                      if entry.msgstr and "fuzzy" not in entry.flags}
        missing = sorted(source - set(translated))
        self.assertFalse(missing, f"{len(missing)} strings without Dutch translation: "
                                  f"{missing[:20]}")
        for msgid, msgstr in translated.items():
            self.assertEqual(sorted(PLACEHOLDER.findall(msgid)),
                             sorted(PLACEHOLDER.findall(msgstr)),
                             f"placeholders differ in {msgid!r} → {msgstr!r}")
