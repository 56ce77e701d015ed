"""A local stand-in for Odoo's SMS service (IAP), on ``http://127.0.0.1:<port>``.

Odoo's ``sms`` module sends text messages with a JSON-RPC 2.0 ``call`` to
``<sms.endpoint>/api/sms/3/send`` (``ir.config_parameter`` ``sms.endpoint``, default
``https://sms.api.odoo.com``; ``addons/sms/tools/sms_api.py``) with the parameters
``messages`` (``[{"content", "numbers": [{"uuid", "number"}]}]``), ``webhook_url``,
``dbuuid`` and ``account_token``, and reads back a list ``[{"uuid", "state"[, "credit"]}]``
(``state`` one of ``success``, ``wrong_number_format``, ``insufficient_credit``, ... as
``sms.sms.IAP_TO_SMS_*`` expect). This server is as strict as that contract: a request
without an account token, or a message without content, is a JSON-RPC error; a number that
is not in international format (``+`` then digits) gets ``wrong_number_format``.

Test tooling, not part of the addon: neither shipped nor imported at run time.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler

from .local_server import LocalServer

SEND_PATH = "/api/sms/3/send"
_NUMBER = re.compile(r"^\+[1-9]\d{6,14}$")


class SmsServer(LocalServer):
    """Records every text message in :attr:`sent` as ``{"number", "content", "uuid"}``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.sent: list[dict] = []
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._bind(host, port, _Handler)

    @property
    def endpoint(self) -> str:
        """The value for the ``sms.endpoint`` system parameter."""
        return self.base_url

    def handle(self, path: str, body: bytes) -> tuple[int, dict]:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400, {"error": "invalid json"}
        request_id = payload.get("id")
        if path != SEND_PATH:
            return 404, {"error": "not found"}
        params = payload.get("params") or {}
        with self._lock:
            self.requests.append(params)
        if payload.get("jsonrpc") != "2.0" or payload.get("method") != "call":
            return 200, _rpc_error(request_id, "Invalid JSON-RPC request")
        if not params.get("account_token"):
            return 200, _rpc_error(request_id, "Missing account token")
        results = []
        for message in params.get("messages") or []:
            content = message.get("content")
            if not content:
                return 200, _rpc_error(request_id, "Empty message")
            for number in message.get("numbers") or []:
                state = "success" if _NUMBER.match(number.get("number") or "") else \
                    "wrong_number_format"
                results.append({"uuid": number.get("uuid"), "state": state,
                                **({"credit": 1} if state == "success" else {})})
                if state == "success":
                    with self._lock:
                        self.sent.append({"number": number["number"], "content": content,
                                          "uuid": number.get("uuid")})
        return 200, {"jsonrpc": "2.0", "id": request_id, "result": results}


def _rpc_error(request_id, message: str) -> dict:
    return {"jsonrpc": "2.0", "id": request_id,
            "error": {"code": 200, "message": message,
                      "data": {"name": "odoo.exceptions.UserError", "message": message}}}


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, answer = self.server.app.handle(self.path, body)
        data = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        """Stay quiet."""
