"""Long text split into parts a platform accepts, at word boundaries, never cutting a word or
an HTML-style entity (`&amp;`, as Slack's escaping writes them) in two."""

from __future__ import annotations


def split_posts(lines: list[str], limit: int) -> list[str]:
    """Pack lines into posts of at most `limit` characters; split, never cut, long lines."""
    posts: list[str] = []
    current = ""
    for line in lines:
        for piece in _pieces(line, limit):
            if current and len(current) + 1 + len(piece) > limit:
                posts.append(current)
                current = piece
            else:
                current = f"{current}\n{piece}" if current else piece
    if current:
        posts.append(current)
    return posts


def _pieces(line: str, limit: int) -> list[str]:
    pieces = []
    while len(line) > limit:
        # Prefer a space near the end so words stay whole; never split an escape like &amp;.
        cut = line.rfind(" ", limit // 2, limit)
        if cut <= 0:
            cut = limit
            amp = line.rfind("&", cut - 5, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces
