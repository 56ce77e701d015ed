from . import period_entry_preview, period_reconcile
