from __future__ import annotations

import httpx

from tests.conftest import Company


async def test_create_read_reply(client: httpx.AsyncClient, company: Company) -> None:
    agent = company.l1_agent
    r = await client.post(
        "/api/v1/tickets",
        headers=agent.headers,
        json={
            "subject": "Не могу войти в аккаунт",
            "body": "Пишет неверный пароль при входе",
            "requester": {"email": "carol@acme.ru"},
            "group_id": company.l1_group_id,
            "tags": ["Login Problem"],
        },
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["number"] == 1
    r = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        headers=agent.headers,
        json={"body": "secret note", "visibility": "internal"},
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["tags"] == ["login-problem"]
    assert [m["visibility"] for m in body["messages"]] == ["public", "internal"]
    r = await client.get(f"/api/v1/me/tickets/{ticket['id']}", headers=company.customer.headers)
    assert r.status_code == 200, r.text
    assert "secret note" not in r.text
    r = await client.get("/api/v1/tickets?q=вход", headers=agent.headers)
    assert [t["id"] for t in r.json()["items"]] == [ticket["id"]]
    r = await client.get("/healthz")
    assert r.status_code == 200, r.text
