"""The security contract's cast, as docs/schema.md states it: one place for the schema tests."""

from __future__ import annotations

GORDON_SCHEMAS = ["market_data", "trading", "bus"]
RUNTIME_ROLES = [
    "gordon_ingest",
    "gordon_trading",
    "gordon_bots",
    "gordon_risk",
    "gordon_api",
    "gordon_outbox_relay",
]
DRIFT_READER = "gordon_drift_reader"
ALL_ROLES = [*RUNTIME_ROLES, DRIFT_READER]
