"""README is the front door and docs/ the manual: they stay short, their links lead
somewhere, and the layout they describe is the code's."""

import re
from pathlib import Path

from django.apps import apps

REPO = Path(__file__).resolve().parents[2]
MANUAL = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {github_anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_readme_is_a_front_door_of_at_most_400_lines():
    assert len((REPO / "README.md").read_text().splitlines()) <= 400


def test_every_relative_link_leads_to_a_file_and_heading_that_exist():
    for document in MANUAL:
        for target in LINK.findall(document.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path_part, _, anchor = target.partition("#")
            linked = (document.parent / path_part).resolve() if path_part else document
            assert linked.exists(), f"{document.name}: {target} leads nowhere"
            if anchor:
                assert anchor in anchors(linked), f"{document.name}: no heading for {target}"


def layout_entries() -> set[str]:
    how = (REPO / "docs" / "how-it-works.md").read_text()
    layout = how.split("## Layout", 1)[1].split("```", 2)[1]
    return set(re.findall(r"^(\S+)/ ", layout, re.MULTILINE))


def test_the_layout_lists_every_app_of_this_project():
    ours = {
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == REPO
    }
    assert ours == {
        "ytdlphost", "keys_app", "downloads_app", "subscriptions_app", "legacy_import", "page_app",
    }  # fmt: skip
    assert ours <= layout_entries()


def test_every_folder_the_layout_names_exists():
    for folder in layout_entries():
        assert (REPO / folder).is_dir(), folder
