"""Declarative packs: YAML/JSON files that instantiate the engines (organisations and users now;
service items, forms, processes, licence types and data resources as their issues land)."""
