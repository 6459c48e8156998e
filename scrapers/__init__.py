"""Playwright capture of Seller Central case pages and the pure parsers that turn captures
into records. Knows the portal contract (shared/PORTAL.md) and nothing of storage."""
