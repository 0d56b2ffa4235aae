"""The TUI's screens: one per mode, and the dialogs of its actions."""
