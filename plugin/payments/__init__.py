"""Payment providers: verify their deliveries and translate them into the plugin's own vocabulary."""
