"""Odoo-free core of hours_invoicing_exact.

Nothing below this package imports ``odoo``: plain functions and classes over plain data,
tested by the repository's root ``tests/`` with pytest, without a database.
"""
