"""Permissions, the command sandbox and process control."""
