"""Identity and 附票 data stay out of Django admin entirely (domain.md §4.2 'No admin')."""

from django.apps import apps
from django.contrib import admin


def test_no_identity_furyo_or_temporary_number_model_is_registered_in_admin():
    personal = [*apps.get_app_config("prefserver").get_models(), *apps.get_app_config("furyo").get_models()]
    assert {model.__name__ for model in personal} >= {
        "IdentityPerson", "IdentityResidentCode", "IdentityVersion", "FuryoPerson", "FuryoResidentCode",
        "FuryoVersion", "TemporaryIndividualNumber",
    }  # fmt: skip
    assert not [model for model in personal if admin.site.is_registered(model)]
