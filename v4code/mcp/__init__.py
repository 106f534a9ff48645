"""MCP servers as tools: their config, a client that runs them, and their tools as registry entries.

Nothing here imports the `mcp` SDK at module level: `v4code --help` and `--version` must not
pay for it, and a session without servers never loads it.
"""
