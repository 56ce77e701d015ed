# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Hours Invoicing & Exact Online",
    "summary": "Time & material and fixed-price projects: booking rules, rate agreements, "
    "invoicing of hours and costs, and an exactly-once link to Exact Online",
    "version": "18.0.1.0.0",
    "category": "Services/Timesheets",
    "website": "https://github.com/hours-invoicing-exact/hours_invoicing_exact",
    "author": "hours_invoicing_exact developers",
    "license": "LGPL-3",
    "application": False,
    "installable": True,
    "depends": ["hr_timesheet", "account"],
    "external_dependencies": {
        "python": ["requests", "zeep", "python-stdnum"],
    },
    "data": [
        "security/hie_security.xml",
        "security/ir.model.access.csv",
        "views/project_rate_agreement_views.xml",
        "views/project_project_views.xml",
        "views/res_partner_views.xml",
        "views/account_analytic_line_views.xml",
        "views/product_template_views.xml",
        "views/hr_employee_views.xml",
        "views/menus.xml",
        "security/ir.model.access-placeholder.csv",
        "data/period_sync_cron.xml",
        "views/accounting_period_entry_views.xml",
        "views/res_config_settings_period_sync_views.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "hours_invoicing_exact/static/tests/tours/period_entry_preview_tour.js",
        ],
    },
    "demo": [
        "demo/hie_demo.xml",
    ],
    "pre_init_hook": "pre_init_hook",
}
