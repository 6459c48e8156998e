"""Read models for the UI and the CLI: queries, the timeline."""
