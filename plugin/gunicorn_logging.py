"""gunicorn's own logs as JSON lines like the app's (gunicorn.conf.py names this class as `logger_class`).

The access log line holds the method, the path without its query string, the status, the bytes sent, the
duration, the client address and the request id the app answered with; never the query string, the Referer or
an Authorization header, where keys could hide. LOG_FORMAT=text keeps gunicorn's own lines (the
`access_log_format` in gunicorn.conf.py, which leaves those out too).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from gunicorn.glogging import Logger

from plugin.logs import HEADER, JsonLines, redact

_HEADER = HEADER.lower()


def _json_wanted() -> bool:
    return (os.environ.get("LOG_FORMAT") or "json").strip().lower() != "text"


class JsonLogger(Logger):
    """gunicorn's logger, writing its error log and its access log as one JSON object per line."""

    def setup(self, cfg: Any) -> None:
        """gunicorn's handlers, with the app's JSON formatter on the error log."""
        super().setup(cfg)
        self._json = _json_wanted()  # read once: the environment does not change under a running server
        if self._json:
            for handler in self.error_log.handlers:
                handler.setFormatter(JsonLines())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        """One JSON line per answered request."""
        if not self._json:
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        status = resp.status
        code = int(status.split(None, 1)[0]) if isinstance(status, str) else status
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": f"{method} {path} {code}",
            "request_id": next((value for name, value in resp.headers if name.lower() == _HEADER), None),
            "method": method,
            "path": path,  # PATH_INFO: the query string is elsewhere (QUERY_STRING) and never logged
            "status": code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "protocol": environ.get("SERVER_PROTOCOL"),
        }
        try:
            self.access_log.info(redact(json.dumps(line)))
        except Exception:
            self.exception("access log line not written")
