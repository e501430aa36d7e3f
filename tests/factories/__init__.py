"""factory_boy factories, one module per area; they write through the app's session."""
