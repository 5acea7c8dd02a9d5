from __future__ import annotations

from bridge.models import Message, Role
from bridge.platforms.slack.mrkdwn import (
    customer_post,
    split_posts,
    staff_text_to_plain,
    transcript_posts,
)


def test_customer_text_cannot_ping_or_forge_links() -> None:
    post = customer_post("<!channel> look <http://evil.example|your bank> & <@U123>")
    assert "<" not in post.replace("&lt;", "") and ">" not in post.replace("&gt;", "")
    assert "&lt;!channel&gt;" in post and "&amp;" in post


def test_long_transcripts_are_split_never_cut() -> None:
    words = [f"word{n}" for n in range(3000)]
    transcript = [Message(Role.CUSTOMER, " ".join(words)), Message(Role.BOT, "short answer")]
    posts = transcript_posts(transcript)
    assert len(posts) > 1 and all(len(p) <= 3500 for p in posts)
    joined = " ".join(posts)
    assert all(word in joined for word in words[::97]) and "short answer" in joined
    assert posts[0].startswith("*Transcript so far:*")


def test_split_keeps_escapes_whole() -> None:
    line = "&amp;" * 1000
    posts = split_posts([line], limit=333)
    assert "".join(posts) == line
    assert all(p.startswith("&amp;") and p.endswith("&amp;") for p in posts)


def test_staff_markup_becomes_plain_text() -> None:
    text = (
        "See <https://shop.example/o/1|your order> or <mailto:help@shop.example> "
        "&lt;3 &amp; <@U0ALICE|alice>"
    )
    assert staff_text_to_plain(text) == (
        "See your order (https://shop.example/o/1) or help@shop.example <3 & @alice"
    )
