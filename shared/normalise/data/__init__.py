"""The normalisers' YAML tables (a package so the files ship with the wheel)."""
