"""The life cycle the local test servers share: an HTTP server on 127.0.0.1 (a free port by
default) serving in a background thread, usable as a context manager.

Each server calls :meth:`_bind` with its ``BaseHTTPRequestHandler`` in its ``__init__``;
the handler reaches the server object as ``self.server.app``."""

import threading
from http.server import ThreadingHTTPServer


class LocalServer:
    def _bind(self, host: str, port: int, handler) -> None:
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
