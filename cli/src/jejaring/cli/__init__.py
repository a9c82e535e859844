"""The `jejaring` command."""
