"""Capture through the seller's signed-in Chromium (Playwright)."""
