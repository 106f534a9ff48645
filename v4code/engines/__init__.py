"""Local engines for DeepSeek V4: hardware data, the fit arithmetic, launch commands, serving
a planned engine as a child process, and probing a running server for what v4code needs."""
