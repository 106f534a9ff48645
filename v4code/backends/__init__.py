"""Model backends: one OpenAI-compatible streaming client, with one dialect per engine."""
