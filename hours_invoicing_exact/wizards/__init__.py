from . import (
    account_move_reversal,
    hie_timesheet_send_back,
    invoice_link_wizard,
    period_entry_preview,
    period_reconcile,
    project_book_cost_wizard,
    project_close_wizard,
    project_invoice_wizard,
)
