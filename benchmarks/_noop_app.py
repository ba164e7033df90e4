"""A FastAPI app that does nothing but validate a ticket-shaped body: the ceiling of what
this machine's one-process uvicorn and the benchmark's own client can do together."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, EmailStr

app = FastAPI()


class Requester(BaseModel):
    email: EmailStr
    name: str = ""


class TicketIn(BaseModel):
    subject: str
    body: str
    requester: Requester
    group_id: int | None = None
    tags: list[str] = []
    channel: str = "api"


@app.post("/api/v1/tickets", status_code=201)
async def create(data: TicketIn) -> dict[str, object]:
    return {"id": 1, "number": 1, "status": "new"}
