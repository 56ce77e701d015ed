from . import (
    account_analytic_line,
    hr_employee,
    product_template,
    project_project,
    project_rate_agreement,
    res_partner,
)
