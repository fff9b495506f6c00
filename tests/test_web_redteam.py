"""The red team's findings against the portal: each test is an attack that once worked."""

from __future__ import annotations

import asyncio

import httpx

from luoshi.web.security import Throttle

from .portal import CSRF, app_for, make_store


def test_concurrent_guesses_cannot_outrun_the_throttle(tmp_path):
    """Thirty guesses sent at once all passed the check before the first had failed (the
    password is verified in a worker thread): the limit of 5 let 30 through."""
    app = app_for(make_store(tmp_path), throttle=Throttle(limit=5, window=600))

    async def guesses() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
            page = await client.get("/login")
        token, cookies = CSRF.search(page.text)[1], dict(page.cookies)

        async def guess(number: int) -> int:  # each its own client: one form, one cookie
            async with httpx.AsyncClient(transport=transport, base_url="http://portal",
                                         cookies=cookies) as client:
                answer = await client.post("/login", data={
                    "csrf": token, "name": "caizheng", "password": f"guess-{number}"})
            return answer.status_code

        return list(await asyncio.gather(*(guess(number) for number in range(30))))

    codes = asyncio.run(guesses())
    assert codes.count(401) == 5 and codes.count(429) == 25
