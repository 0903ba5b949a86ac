"""Draws the installable page's icons (page_app/static/page/icons/): the SVGs, and the PNGs
the web app manifest names, screenshotted from them with the tests' Chromium. Run once
from the repository's root when the drawing changes (.venv/bin/python
scripts/render_app_icons.py); the files it writes are committed."""

from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path("page_app/static/page/icons")
ARROW = (
    '<path d="M256 112v208M160 232l96 96 96-96M144 400h224" stroke="#fff" '
    'stroke-width="44" fill="none" stroke-linecap="round" stroke-linejoin="round"/>'
)
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">'
    '<rect width="512" height="512" rx="112" fill="#0b5cd5"/>' + ARROW + "</svg>"
)
# Maskable: the colour fills the square (the platform cuts its own shape) and the arrow
# stays inside the safe zone, the middle circle of 80 % of the width.
MASKABLE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">'
    '<rect width="512" height="512" fill="#0b5cd5"/>'
    '<g transform="translate(256 256) scale(0.72) translate(-256 -256)">' + ARROW + "</g></svg>"
)
(OUT / "icon.svg").write_text(ICON + "\n")
(OUT / "maskable.svg").write_text(MASKABLE + "\n")
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    for name, svg, size in [
        ("icon-192", ICON, 192),
        ("icon-512", ICON, 512),
        ("maskable-512", MASKABLE, 512),
    ]:
        page = browser.new_page(viewport={"width": size, "height": size})
        page.set_content(
            f"<style>html,body{{margin:0;background:transparent}}svg{{display:block;width:{size}px;height:{size}px}}</style>{svg}"
        )
        page.screenshot(path=OUT / f"{name}.png", omit_background=True)
        page.close()
    browser.close()
