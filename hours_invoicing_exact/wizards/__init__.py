from . import invoice_link_wizard, project_invoice_wizard
