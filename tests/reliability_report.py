"""Placeholder, replaced below."""
import json
import os

LOG_ENV = "ASTEGNI_RELIABILITY_LOG"


def record(metric: str, value: int) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"metric": metric, "value": value}) + "\n")
