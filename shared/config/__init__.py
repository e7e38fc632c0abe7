"""Config files people edit: YAML read with the line of every key, validated, hot-reloaded."""
