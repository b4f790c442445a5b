"""Floor 0: the few helpers every other package shares (token files, CLI errors)."""
