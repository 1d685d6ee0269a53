"""The one function furyo may import from prefserver (domain.md §5.3 step 2).

One code in, at most one number out: a file (2) provision naming an affair marked
`individual_number_permitted` pulls an emigrant's 個人番号 from file (1) (seeds/002_b6d1246946737152.txt:1564-1567).
"""

from __future__ import annotations

from typing import Any

from prefserver.models import IdentityResidentCode
from prefserver.versions import identity_current_version, individual_number_of


def individual_number_for_emigrant(resident_code: str, affair: Any, provision_record: Any) -> str | None:
    """The number of the person's latest file (1) version (usually a removed one: emigration removes the
    person from file (1)), or None.

    The code is resolved through file (1)'s code history, replaced codes included (a 27 may reach file (1)
    before file (2)). An affair not marked `individual_number_permitted` gets nothing, whatever the caller
    checked before; a current version invalidated by 取消 (deleted) gives nothing either. `provision_record`
    is the caller's link for the operation log (recorded by the caller, never with the number).
    """
    if not getattr(affair, "individual_number_permitted", False):
        return None
    code = IdentityResidentCode.objects.select_related("person").filter(resident_code=resident_code).first()
    if code is None:
        return None
    version = identity_current_version(code.person)
    if version is None or version.deleted:
        return None
    return individual_number_of(version)
