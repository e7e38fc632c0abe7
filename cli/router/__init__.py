"""`leadflow pool list`, `leadflow explain` and `leadflow rules simulate`: the router's operator commands."""
