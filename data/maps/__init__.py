"""Maps: the console's base layer and the road graph, read from OpenStreetMap extracts (and shipped for the demo)."""
