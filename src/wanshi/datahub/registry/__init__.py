"""Base registries (基础库, DC-3): the population (人口库) and legal-person (法人库) registries as a service.

Other contexts verify a person or an enterprise and fetch data for form prefill through ``api``; every
call is logged with a keyed hash and a masked form of its subject, never the number itself.
"""
