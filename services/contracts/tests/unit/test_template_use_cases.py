"""Template versions: pending after upload, used only once a second admin has activated them (four eyes)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contracts_testkit import snapshot, vendor_accepted, vendor_record
from contracts_usecases import World

from backoffice_common.auth import User
from backoffice_contracts import service
from backoffice_contracts.domain.errors import SegregationOfDuties, TemplateNotActivatable, TemplateNotFound

ANNA = User(sub="anna", name="Anna Admin", email="anna@example.com", roles=frozenset({"admin"}))
BERT = User(sub="bert", name="Bert Admin", email="bert@example.com", roles=frozenset({"admin"}))
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


async def upload(world: World, body: str, user: User = ANNA) -> int:
    values = await service.add_template(
        uow=world.uow(), documents=world.documents, language="en", body=body, description="", user=user
    )
    assert values["status"] == "pending"
    return int(values["version"])


async def generated_with(world: World) -> str:
    vendor = vendor_record(language="en")
    await world.deliver(vendor_accepted(snapshot(vendor_id=vendor["vendor_id"]), vendor))
    return world.documents.rendered[-1][0]


async def test_a_new_version_is_not_used_until_a_second_admin_activates_it() -> None:
    world = World()
    version = await upload(world, "#en v2")
    assert await generated_with(world) == "#en v1"
    listed = {t["version"]: t["status"] for t in await service.list_templates(uow=world.uow()) if t["language"] == "en"}
    assert listed == {1: "active", 2: "pending"}

    uow = world.uow()
    activated = await service.activate_template(uow=uow, language="en", version=version, user=BERT, now=NOW)
    assert (activated["status"], activated["activated_by"], activated["activated_at"]) == ("active", "bert", NOW)
    assert uow.committed
    [(fact_type, subject, data)] = uow.facts
    assert (fact_type, subject) == ("contract_template.activated", "en/2")
    assert data == {"language": "en", "version": 2, "created_by": "anna", "activated_by": "bert", "previous_version": 1}
    assert await generated_with(world) == "#en v2"
    en = await service.get_template(uow=world.uow(), language="en", version=1)
    assert en["status"] == "superseded"


async def test_the_uploader_may_not_activate_their_own_version() -> None:
    world = World()
    version = await upload(world, "#en v2", user=ANNA)
    uow = world.uow()
    with pytest.raises(SegregationOfDuties) as refused:
        await service.activate_template(uow=uow, language="en", version=version, user=ANNA, now=NOW)
    assert refused.value.extensions["rule"] == "template_author"
    assert not uow.committed
    assert await generated_with(world) == "#en v1"


async def test_an_active_or_older_version_cannot_be_activated_and_an_unknown_one_is_not_found() -> None:
    world = World()
    second = await upload(world, "#en v2")
    third = await upload(world, "#en v3")
    await service.activate_template(uow=world.uow(), language="en", version=third, user=BERT, now=NOW)
    for version in (second, third):
        with pytest.raises(TemplateNotActivatable) as refused:
            await service.activate_template(uow=world.uow(), language="en", version=version, user=BERT, now=NOW)
        assert refused.value.extensions["active_version"] == third
    with pytest.raises(TemplateNotFound):
        await service.activate_template(uow=world.uow(), language="en", version=99, user=BERT, now=NOW)
    assert await generated_with(world) == "#en v3"


async def test_the_upload_is_audited_and_the_preview_renders_the_sample_order_with_its_version() -> None:
    world = World()
    uow = world.uow()
    await service.add_template(
        uow=uow, documents=world.documents, language="en", body="#en v2", description="d", user=ANNA
    )
    [(fact_type, subject, data)] = uow.facts
    assert (fact_type, subject, data["created_by"], data["body"]) == (
        "contract_template.added",
        "en/2",
        "anna",
        "#en v2",
    )
    pdf = await service.preview_template(uow=world.uow(), documents=world.documents, language="en", version=2)
    source, sample = world.documents.rendered[-1]
    assert (source, sample["number"], sample["template_version"]) == ("#en v2", "PR-000000", 2)
    assert pdf.startswith(b"%PDF")
