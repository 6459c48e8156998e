"""Pure parsers: captured bytes in, parsed records out; no network."""
