"""Records and helpers every stage shares; imports nothing else of explorer."""
