"""Playlists for tests and bench/, read offline by yt-dlp's generic extractor: an HTML page
of `<video>` elements and an RSS feed of enclosures, written into a directory that a
MediaServer serves, their media on another (the session's media server)."""

from html import escape
from pathlib import Path


def write_page(directory: Path, name: str, title: str, sources: list[str]) -> str:
    """An HTML page with one <video> per source; its file name."""
    videos = "".join(f'<video src="{escape(source)}"></video>\n' for source in sources)
    page = f"<!DOCTYPE html><html><head><title>{escape(title)}</title></head>"
    (Path(directory) / name).write_text(f"{page}<body>\n{videos}</body></html>\n")
    return name


def write_feed(directory: Path, name: str, title: str, episodes: list[tuple[str, str]]) -> str:
    """An RSS 2.0 feed with one item per (title, enclosure URL); its file name."""
    items = "".join(
        f"<item><title>{escape(episode)}</title><guid>{number}</guid>"
        f'<enclosure url="{escape(url)}" type="video/mp4" length="1"/></item>\n'
        for number, (episode, url) in enumerate(episodes, 1)
    )
    (Path(directory) / name).write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.com/</link>"
        f"<description>Test feed</description>\n{items}</channel></rss>\n"
    )
    return name
