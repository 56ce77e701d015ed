# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from werkzeug.exceptions import Forbidden

from odoo import _, http
from odoo.exceptions import AccessError, UserError
from odoo.http import request

from ..models.accounting_connection import TWF_CALLBACK_PATH, TWF_CONNECT_PATH
from ..services.outbox import SyncError
from .main import ExactOnlineController

_logger = logging.getLogger(__name__)


class TwinfieldController(http.Controller):
    """OAuth 2.0 / OpenID Connect authorization-code flow of a Twinfield connection
    (``state`` and ``nonce`` stored on the connection and checked on the way back).

    As for Exact Online, what goes wrong after the manager was identified is shown on the
    connection's form; forged or foreign requests get a bare 403.
    """

    @http.route(f"{TWF_CONNECT_PATH}/<int:connection_id>", type="http", auth="user")
    def twinfield_connect(self, connection_id, **kwargs):
        """Store a fresh ``state`` and ``nonce`` and send the browser to Twinfield."""
        connection = request.env["accounting.connection"].browse(connection_id).exists()
        if not connection or connection.sudo().target != "twinfield":
            raise Forbidden()
        try:
            url = connection._twinfield_start_authorization()
        except AccessError as exc:
            raise Forbidden() from exc
        except UserError as exc:
            return ExactOnlineController._back_to_form(connection, str(exc.args[0]))
        return request.redirect(url, local=False)

    @http.route(TWF_CALLBACK_PATH, type="http", auth="user")
    def twinfield_callback(self, code=None, state=None, error=None, error_description=None,
                           **kwargs):
        """Twinfield sends the browser back here with ``code`` and our ``state``."""
        pending = request.env["accounting.connection"].sudo().search(
            [("oauth_state", "=", state), ("target", "=", "twinfield")], limit=1
        ) if state else None
        if error:
            message = _("Twinfield refused the connection: %(error)s. Click Connect to try "
                        "again.", error=error_description or error)
            if pending:
                return ExactOnlineController._back_to_form(pending, message)
            return request.make_response(message, status=400)
        try:
            connection = request.env["accounting.connection"]._twinfield_finish_authorization(
                state, code
            )
        except AccessError as exc:
            _logger.warning("Twinfield callback refused: unknown state")
            return request.make_response(str(exc), status=403)
        except (UserError, SyncError) as exc:
            message = str(exc.args[0]) if isinstance(exc, UserError) else exc.message
            if pending:
                return ExactOnlineController._back_to_form(pending, message)
            return request.make_response(message, status=400)
        # next step for the manager: pick the office; fill the picker at once
        try:
            connection.with_env(request.env).action_twinfield_load_offices()
        except (UserError, SyncError) as exc:
            message = str(exc.args[0]) if isinstance(exc, UserError) else exc.message
            connection.sudo().last_error = _(
                "Connected, but the offices could not be loaded: %(error)s. Click Load "
                "Offices to try again.", error=message)
        return ExactOnlineController._back_to_form(connection)
