# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from werkzeug.exceptions import Forbidden

from odoo import _, http
from odoo.exceptions import AccessError, UserError
from odoo.http import request

from ..models.accounting_connection import CALLBACK_PATH, CONNECT_PATH
from ..services.outbox import SyncError

_logger = logging.getLogger(__name__)

FORM_URL = "/odoo/action-hours_invoicing_exact.action_accounting_connection/%s"


class ExactOnlineController(http.Controller):
    """OAuth 2.0 authorization-code flow of an Exact Online connection.

    Whatever goes wrong after the manager was identified is shown inside Odoo: the message
    goes to the connection's ``last_error`` (shown on top of its form) and the browser goes
    back to that form; only forged or foreign requests get a bare 403.
    """

    @staticmethod
    def _back_to_form(connection, message=None):
        """Send the browser to the connection's form, showing ``message`` there."""
        if message:
            connection.sudo().write({"last_error": message, "oauth_state": False})
        return request.redirect(FORM_URL % connection.id)

    @http.route(f"{CONNECT_PATH}/<int:connection_id>", type="http", auth="user")
    def exact_connect(self, connection_id, **kwargs):
        """Store a fresh ``state`` on the connection and send the browser to Exact."""
        connection = request.env["accounting.connection"].browse(connection_id).exists()
        if not connection:
            raise Forbidden()
        try:
            url = connection._start_authorization()
        except AccessError as exc:
            raise Forbidden() from exc
        except UserError as exc:
            return self._back_to_form(connection, str(exc.args[0]))
        return request.redirect(url, local=False)

    @http.route(CALLBACK_PATH, type="http", auth="user")
    def exact_callback(self, code=None, state=None, error=None, error_description=None,
                       **kwargs):
        """Exact sends the browser back here with ``code`` and the ``state`` we stored."""
        pending = request.env["accounting.connection"].sudo().search(
            [("oauth_state", "=", state)], limit=1) if state else None
        if error:
            message = _("Exact Online refused the connection: %(error)s. Click Connect to try "
                        "again, and allow access to the administration when Exact Online asks.",
                        error=error_description or error)
            if pending:
                return self._back_to_form(pending, message)
            return request.make_response(message, status=400)
        try:
            connection = request.env["accounting.connection"]._finish_authorization(
                state, code
            )
        except AccessError as exc:
            _logger.warning("Exact Online callback refused: unknown state")
            return request.make_response(str(exc), status=403)
        except (UserError, SyncError) as exc:
            message = str(exc.args[0]) if isinstance(exc, UserError) else exc.message
            if pending:
                return self._back_to_form(pending, message)
            return request.make_response(message, status=400)
        # next step for the manager: pick the division; fill the picker at once
        try:
            connection.with_env(request.env).action_load_divisions()
        except (UserError, SyncError) as exc:
            message = str(exc.args[0]) if isinstance(exc, UserError) else exc.message
            connection.sudo().last_error = _(
                "Connected, but the divisions could not be loaded: %(error)s. Click Load "
                "Divisions to try again.", error=message)
        return self._back_to_form(connection)
