"""Desktop user interface: dock panel, map tools, dialogs (``.ui`` files loaded at runtime)."""
