"""Frontends: they render events and answer approvals; the engine never prints."""
