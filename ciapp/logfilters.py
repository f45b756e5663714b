"""Logging filters."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"(token=|Bearer\s+)[^&\s\"']+", re.IGNORECASE)


class MaskTokens(logging.Filter):
    """Hide API tokens in log lines, such as request lines with ``?token=``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _TOKEN.sub(r"\1***", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
