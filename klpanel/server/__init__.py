"""Server: the served app module, the JSON API (validation, OpenAPI), the status plugin, the CLI and the
served path's speedups. Nothing here is imported by the package's other layers."""
