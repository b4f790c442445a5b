"""The `braking` command line: one subcommand per stage, each defined by its stage's package."""
