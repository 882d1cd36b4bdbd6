"""The kernel: settings-driven infrastructure every domain builds on. It imports no domain."""
