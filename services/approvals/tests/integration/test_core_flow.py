import asyncio

from approvals_testkit import cancelled, revised, snapshot, submitted


async def decide(service, task_id, who, decision="approved", comment=None, roles=None, **extra):
    body = {"decision": decision, **({"comment": comment} if comment else {}), **extra}
    return await service.client.post(f"/tasks/{task_id}/decision", json=body, headers=service.headers(who, roles))


async def test_a_submitted_request_is_assigned_to_the_manager_and_approved_with_the_full_snapshot(service):
    snap = snapshot(total="1200.00")
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    data = assigned.data
    assert data["assignee"]["id"] == "mike"
    assert data["step"] == "manager"
    assert data["on_behalf_of"] is None
    assert data["request_number"] == snap["number"]
    assert data["schema_version"] == 1
    assert data["due_at"]

    inbox = (await service.client.get("/tasks", headers=service.headers("mike"))).json()["items"]
    assert data["task_id"] in [t["id"] for t in inbox]

    r = await decide(service, data["task_id"], "mike")
    assert r.status_code == 200, r.text
    [approved] = await service.reader.wait_for("purchase_request.approved", subject=snap["request_id"])
    assert approved.data["request"] == snap
    assert [p["id"] for p in approved.data["approvers"]] == ["mike"]
    assert approved.data["requester"] == {
        "id": "alice",
        "name": "Alice",
        "email": "alice@example.com",
        "language": "en",
    }
    [decided] = service.reader.of_type("approval.task_decided", subject=snap["request_id"])
    assert decided.data["decided_by"]["id"] == "mike"
    assert decided.data["actor"]["id"] == "mike"
    assert approved.correlationid == decided.correlationid


async def test_a_rejection_needs_a_comment_and_publishes_rejected_with_the_requester(service):
    snap = snapshot()
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    r = await decide(service, assigned.data["task_id"], "mike", "rejected")
    assert r.status_code == 422
    assert "comment" in r.json()["detail"]
    r = await decide(service, assigned.data["task_id"], "mike", "rejected", "too expensive")
    assert r.status_code == 200
    [rejected] = await service.reader.wait_for("purchase_request.rejected", subject=snap["request_id"])
    assert rejected.data["comment"] == "too expensive"
    assert rejected.data["requester"]["id"] == "alice"
    assert rejected.data["decided_by"]["id"] == "mike"


async def test_changes_requested_then_a_new_revision_starts_a_new_chain_and_carries_over_unchanged_approvals(service):
    snap = snapshot(total="20000.00")
    await service.publish(submitted(snap))
    [first] = await service.assigned(snap["request_id"])
    assert first.data["assignee"]["id"] == "dave"  # mike's limit is too low
    assert (await decide(service, first.data["task_id"], "dave")).status_code == 200
    head = (await service.assigned(snap["request_id"], count=2))[1]
    assert head.data["assignee"]["id"] == "carol"
    r = await decide(service, head.data["task_id"], "carol", "changes_requested", "split the order")
    assert r.status_code == 200
    [changes] = await service.reader.wait_for("purchase_request.changes_requested", subject=snap["request_id"])
    assert changes.data["requester"]["id"] == "alice"
    assert changes.data["comment"] == "split the order"

    second = {**snap, "revision": 2, "description": "now with a note"}
    await service.publish(revised(snap["request_id"], 2, ["description"]), submitted(second))
    tasks = await service.assigned(snap["request_id"], count=3)
    new = tasks[2].data
    assert new["revision"] == 2
    assert new["assignee"]["id"] == "carol"
    chains = (await service.client.get(f"/requests/{snap['request_id']}/chain", headers=service.admin)).json()
    assert [c["revision"] for c in chains] == [1, 2]
    assert chains[0]["status"] == "changes_requested"
    assert chains[1]["status"] == "in_progress"
    assert any("carried over" in r for r in chains[1]["steps"][0]["reasons"])


async def test_cancellation_withdraws_the_open_tasks(service):
    snap = snapshot(category="legal")
    await service.publish(submitted(snap))
    tasks = await service.assigned(snap["request_id"], count=3)
    assert sorted(t.data["assignee"]["id"] for t in tasks) == ["lars", "lena", "mike"]
    await service.publish(cancelled(snap["request_id"]))
    withdrawn = await service.reader.wait_for("approval.task_withdrawn", subject=snap["request_id"], count=3)
    assert sorted(w.data["assignee"]["id"] for w in withdrawn) == ["lars", "lena", "mike"]
    assert all("cancelled" in w.data["reason"] for w in withdrawn)
    r = await decide(service, tasks[0].data["task_id"], tasks[0].data["assignee"]["id"])
    assert r.status_code == 409


async def test_a_parallel_step_with_all_members_completes_exactly_once(service):
    snap = snapshot(category="legal")
    await service.publish(submitted(snap))
    tasks = await service.assigned(snap["request_id"], count=3)
    results = await asyncio.gather(*(decide(service, t.data["task_id"], t.data["assignee"]["id"]) for t in tasks))
    assert [r.status_code for r in results] == [200, 200, 200]
    await service.reader.wait_for("purchase_request.approved", subject=snap["request_id"])
    await asyncio.sleep(1)
    assert len(service.reader.of_type("purchase_request.approved", subject=snap["request_id"])) == 1


async def test_two_simultaneous_decisions_on_one_task_have_exactly_one_winner(service):
    snap = snapshot()
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    task_id = assigned.data["task_id"]
    results = await asyncio.gather(
        decide(service, task_id, "mike"),
        decide(service, task_id, "mike", "rejected", "no"),
        decide(service, task_id, "root", "approved", roles=["admin"], reason="urgent"),
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    await asyncio.sleep(1)
    outcomes = service.reader.of_type("purchase_request.approved", subject=snap["request_id"]) + service.reader.of_type(
        "purchase_request.rejected", subject=snap["request_id"]
    )
    assert len(outcomes) == 1


async def test_only_the_assignee_may_decide_and_never_the_requester(service):
    snap = snapshot(requester="bob")
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    task_id = assigned.data["task_id"]
    assert (await decide(service, task_id, "lena")).status_code == 403
    assert (await decide(service, task_id, "bob", roles=["admin"], reason="mine")).status_code == 403
    assert (await decide(service, task_id, "root", roles=["admin"])).status_code == 422
    r = await decide(service, task_id, "root", roles=["admin"], reason="mike is in hospital")
    assert r.status_code == 200
    assert r.json()["decided_on_behalf_of"]["id"] == "mike"
    assert "on behalf of" in r.json()["audit"]


async def test_a_duplicate_submitted_event_builds_one_chain(service):
    snap = snapshot()
    event = submitted(snap)
    await service.publish(event, event, submitted(snap))
    await service.assigned(snap["request_id"])
    await asyncio.sleep(1.5)
    assert len(service.reader.of_type("approval.task_assigned", subject=snap["request_id"])) == 1
    chains = (await service.client.get(f"/requests/{snap['request_id']}/chain", headers=service.admin)).json()
    assert len(chains) == 1


async def test_a_submitted_event_that_can_never_be_stored_goes_to_the_dead_letter_topic(service):
    from backoffice_common.testing import TopicReader

    bad = snapshot(title="nul \u0000 title")
    good = snapshot()
    async with TopicReader(service.bootstrap, service.prefix + "backoffice.requests.dlq") as dlq:
        await service.publish(submitted(bad), submitted(good))
        dead = await dlq.wait_for("purchase_request.submitted", subject=bad["request_id"])
        assert dead[0].data["request"]["request_id"] == bad["request_id"]
    await service.assigned(good["request_id"])
    assert service.reader.of_type("approval.task_assigned", subject=bad["request_id"]) == []


async def test_a_nul_byte_in_a_path_is_a_client_error(service):
    r = await service.client.get("/tasks/a%00b", headers=service.admin)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    r = await service.client.get("/requests/a%00b/chain", headers=service.admin)
    assert r.status_code == 400


async def test_the_events_name_each_person_with_their_language_from_the_directory(service):
    r = await service.client.put(
        "/directory/approvers/gerd",
        json={"name": "Gerd", "email": "gerd@example.com", "manager_id": "mike", "department": "ENG", "language": "de"},
        headers=service.admin,
    )
    assert r.status_code == 200, r.text
    snap = snapshot(requester="gerd")
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    assert assigned.data["assignee"] == {"id": "mike", "name": "Mike", "email": "mike@example.com", "language": "en"}
    r = await decide(service, assigned.data["task_id"], "mike", "rejected", "zu teuer")
    assert r.status_code == 200, r.text
    [rejected] = await service.reader.wait_for("purchase_request.rejected", subject=snap["request_id"])
    assert rejected.data["requester"]["language"] == "de"
    assert "language" not in snap["requester"]


async def test_a_task_and_a_requests_chain_are_read_by_those_named_on_them_and_by_nobody_else(service):
    """``GET /tasks/{id}`` and ``/requests/{id}/chain`` on a read connection: the task with its step's name
    and the request's snapshot; the same task in the chain; a stranger and an unknown id get the same 404."""
    snap = snapshot(requester="bob", total="100.00")
    await service.publish(submitted(snap))
    [assigned] = await service.assigned(snap["request_id"])
    task_id, assignee = assigned.data["task_id"], assigned.data["assignee"]["id"]
    seen = []
    for who in (assignee, "bob"):
        r = await service.client.get(f"/tasks/{task_id}", headers=service.headers(who))
        assert r.status_code == 200, r.text
        seen.append(r.json())
    assert seen[0] == seen[1]
    task = seen[0]
    assert (task["id"], task["request_id"], task["status"]) == (task_id, snap["request_id"], "open")
    assert task["step"]
    assert task["request"]["request_id"] == snap["request_id"]
    r = await service.client.get(f"/requests/{snap['request_id']}/chain", headers=service.headers(assignee))
    assert r.status_code == 200, r.text
    [chain] = r.json()
    assert [t["id"] for t in chain["tasks"]] == [task_id]
    assert chain["tasks"][0] == {**task, "request": None}
    for path in (f"/tasks/{task_id}", f"/requests/{snap['request_id']}/chain", "/tasks/no-such-task"):
        r = await service.client.get(path, headers=service.headers("zoe"))
        assert r.status_code == 404, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"


async def test_a_decisions_answer_is_the_decided_task_as_stored_key_for_key(service):
    """The answer is built from the decided task in memory; it must be what the task's stored row gives (the
    chain's read, ``request`` left out as in the answer): the same fields, the same order, the same text of
    every time and person, for a decision by the assignee, a rejection with a comment, and an admin's."""
    cases = [("approved", "fine by me, ü ß", None), ("rejected", "too expensive", None), ("approved", None, "root")]
    for decision, comment, admin in cases:
        snap = snapshot(requester="bob", total="100.00")
        await service.publish(submitted(snap))
        [assigned] = await service.assigned(snap["request_id"])
        task_id, assignee = assigned.data["task_id"], assigned.data["assignee"]["id"]
        if admin:
            r = await decide(service, task_id, admin, roles=["admin"], reason="the assignee is on leave")
        else:
            r = await decide(service, task_id, assignee, decision, comment)
        assert r.status_code == 200, r.text
        answer = r.json()
        r = await service.client.get(f"/requests/{snap['request_id']}/chain", headers=service.headers(assignee))
        assert r.status_code == 200, r.text
        [stored] = [t for chain in r.json() for t in chain["tasks"] if t["id"] == task_id]
        assert list(answer.items()) == list(stored.items())
        assert answer["status"] == decision
        assert answer["decided_at"]
        if admin:
            assert answer["closed_reason"] == "decided by the admin root: the assignee is on leave"
            assert answer["decided_on_behalf_of"]["id"] == assignee
