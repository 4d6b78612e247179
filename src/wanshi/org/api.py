"""What other contexts may use from org: typed functions and DTOs only."""

from wanshi.org.domain import Division, DivisionLevel, Organisation, OrganisationKind
from wanshi.org.repository import scope_filter
from wanshi.org.services import (
    CreateOrganisation,
    LoadDivisions,
    OrganisationQuery,
    OrganisationSpec,
    UpdateOrganisation,
    bundled_division_table,
    create_organisation,
    divisions_within,
    find_organisation,
    get_division,
    get_organisation,
    list_child_divisions,
    list_organisations,
    load_divisions,
    organisation_by_code,
    update_organisation,
    upsert_organisations,
)

__all__ = [
    "CreateOrganisation",
    "Division",
    "DivisionLevel",
    "LoadDivisions",
    "Organisation",
    "OrganisationKind",
    "OrganisationQuery",
    "OrganisationSpec",
    "UpdateOrganisation",
    "bundled_division_table",
    "create_organisation",
    "divisions_within",
    "find_organisation",
    "get_division",
    "get_organisation",
    "list_child_divisions",
    "list_organisations",
    "load_divisions",
    "organisation_by_code",
    "scope_filter",
    "update_organisation",
    "upsert_organisations",
]
