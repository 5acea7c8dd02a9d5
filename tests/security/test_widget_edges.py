"""Edge cases of the widget seen from outside (issue 14), through the real bridge: each answers
with a clear error or works, and loses nothing."""

from __future__ import annotations

import aiohttp

from devstack.stack import Stack
from tests.desk.helpers import WidgetCustomer


async def _upload(stack: Stack, customer: WidgetCustomer, name: str, kind: str, data: bytes) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{stack.bridge_url}/widget/upload",
            params={"name": name},
            data=data,
            headers={"Authorization": f"Bearer {customer.token}", "Content-Type": kind},
        ) as response:
            assert response.status == 200, await response.text()
            return str((await response.json())["file_id"])


async def _send_file(customer: WidgetCustomer, file_id: str, text: str) -> dict[str, object]:
    assert customer._ws is not None
    await customer._ws.send_json(
        {"type": "message", "text": text, "client_msg_id": f"f-{file_id[:8]}", "file": file_id}
    )
    message = await customer.wait_for(lambda m: m.get("text") == text, "the file's message")
    file = message["file"]
    assert isinstance(file, dict)
    return file


async def test_a_lone_surrogate_gets_an_error_frame_and_the_socket_stays_usable(
    stack: Stack,
) -> None:
    async with WidgetCustomer(stack.bridge_url) as customer:
        assert customer._ws is not None
        # Raw JSON: the escape reaches the bridge as a lone surrogate once parsed.
        await customer._ws.send_str(
            '{"type": "message", "text": "broken \\ud800 text", "client_msg_id": "s-1"}'
        )
        refused = await customer.answer_to("s-1")
        assert refused["type"] == "error" and refused["code"] == "bad_frame"
        assert "Unicode" in str(refused["message"])
        # The same socket still carries the next message.
        answer = await customer.answer_to(await customer.say("hello after that"))
        assert answer["type"] == "ack"


async def test_a_file_name_with_a_slash_still_gets_a_working_link(stack: Stack) -> None:
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("here is my receipt")
        file_id = await _upload(stack, customer, "a/b.png", "image/png", b"\x89PNG fake")
        file = await _send_file(customer, file_id, "the receipt")
        assert file["name"] == "a/b.png"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{stack.bridge_url}{file['url']}") as response:
                assert response.status == 200
                assert await response.read() == b"\x89PNG fake"


async def test_only_known_image_types_are_served_inline(stack: Stack) -> None:
    async with WidgetCustomer(stack.bridge_url) as customer:
        await customer.say("two pictures")
        served = {}
        for kind in ("image/png", "image/svg+xml+x", "image/svg+xml", "text/html"):
            file_id = await _upload(stack, customer, "picture", kind, b"<svg onload=alert(1)>")
            file = await _send_file(customer, file_id, f"a {kind} file")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{stack.bridge_url}{file['url']}") as response:
                    served[kind] = (
                        response.headers["Content-Disposition"],
                        response.headers["Content-Type"],
                    )
    assert served["image/png"][0] == "inline"
    for kind in ("image/svg+xml+x", "image/svg+xml", "text/html"):
        disposition, content_type = served[kind]
        assert disposition == "attachment" and content_type == "application/octet-stream", kind
