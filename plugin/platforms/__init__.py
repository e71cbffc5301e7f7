"""Store platforms: verify their webhooks and translate them into the plugin's own vocabulary."""
