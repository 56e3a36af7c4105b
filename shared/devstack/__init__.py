"""The developer stack: `tidemark serve`, the command line and the demo. Never
vendored into a function package."""
