"""Use cases of the service-item catalogue: keeping records (``records``) and reading what is published
(``reading``)."""
