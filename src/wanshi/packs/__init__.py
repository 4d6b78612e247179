"""Declarative packs: YAML/JSON files that instantiate the engines (organisations, users, and the data
centre's resources, quality rule sets and registry grants now; service items, forms, processes and licence
types as their issues land)."""
