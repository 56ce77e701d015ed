from . import (
    account_analytic_line,
    account_move,
    account_move_line,
    hr_employee,
    product_template,
    project_project,
    project_project_invoicing,
    project_rate_agreement,
    res_company_invoicing,
    res_config_settings_invoicing,
    res_partner,
)
