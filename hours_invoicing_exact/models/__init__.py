from . import project_rate_agreement
from . import project_project
from . import account_analytic_line
from . import product_template
from . import hr_employee
from . import res_partner
