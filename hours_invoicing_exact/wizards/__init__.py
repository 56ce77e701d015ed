from . import (
    invoice_link_wizard,
    period_entry_preview,
    period_reconcile,
    project_invoice_wizard,
)
