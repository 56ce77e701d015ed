# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from werkzeug.exceptions import Forbidden

from odoo import _, http
from odoo.exceptions import AccessError, UserError
from odoo.http import request

from ..models.accounting_connection import CALLBACK_PATH, CONNECT_PATH
from ..services.outbox import SyncError

_logger = logging.getLogger(__name__)


class ExactOnlineController(http.Controller):
    """OAuth 2.0 authorization-code flow of an Exact Online connection."""

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
        return request.redirect(url, local=False)

    @http.route(CALLBACK_PATH, type="http", auth="user")
    def exact_callback(self, code=None, state=None, error=None, **kwargs):
        """Exact sends the browser back here with ``code`` and the ``state`` we stored."""
        if error:
            return request.make_response(
                _("Exact Online refused the connection: %s", error), status=400
            )
        try:
            connection = request.env["accounting.connection"]._finish_authorization(
                state, code
            )
        except AccessError as exc:
            _logger.warning("Exact Online callback refused: unknown state")
            return request.make_response(str(exc), status=403)
        except (UserError, SyncError) as exc:
            return request.make_response(str(exc), status=400)
        return request.redirect(
            f"/odoo/action-hours_invoicing_exact.action_accounting_connection/{connection.id}"
        )
