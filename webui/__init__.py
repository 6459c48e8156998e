"""The local web UI (Flask + htmx) over the caselog database. Calls companion only."""
