"""Test tooling of hours_invoicing_exact, outside the addon (not shipped, not imported at run
time): the local Exact Online server (``exact_server``) and the local Twinfield server
(``twinfield_server``). The addon's Odoo tests put the repository on ``sys.path`` to import
it; the root ``tests/`` have it there already."""
