from . import (
    account_analytic_line,
    hr_employee,
    product_template,
    project_installment,
    project_project,
    project_project_fixed_price,
    project_project_profitability,
    project_rate_agreement,
    res_partner,
)
