"""Capture: sources, the pipeline from captures to cases, the archive and the store."""
