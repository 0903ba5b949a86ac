"""naming.py: the safe subset of yt-dlp's output template, and the names it renders from
hostile media fields."""

import pytest

from downloads_app import naming
from downloads_app.naming import MAX_NAME_BYTES, TemplateError, parse

MEDIA = {"title": "Big Buck Bunny", "uploader": "Blender", "upload_date": "20080410", "id": "b"}


def render(template: str, fields=None, extension="mp4", folders=False) -> str:
    return parse(template, folders=folders).render({**MEDIA, **(fields or {})}, extension)


def test_it_renders_the_fields_of_the_subset():
    assert render("%(title)s [%(id)s].%(ext)s") == "Big Buck Bunny [b].mp4"
    assert render("%(upload_date>%Y-%m-%d)s %(uploader)s") == "2008-04-10 Blender.mp4"
    entry = {"playlist_index": 7, "playlist_title": "Shorts"}
    assert render("%(playlist_index)03d - %(playlist_title)s", entry) == "007 - Shorts.mp4"
    assert render("100%% %(title)s", extension="m4a") == "100% Big Buck Bunny.m4a"


def test_the_extension_is_always_the_files_own():
    assert render("%(title)s") == "Big Buck Bunny.mp4"
    assert render("%(title)s.mkv") == "Big Buck Bunny.mkv.mp4"
    assert render("%(title)s (%(ext)s)", extension="webm") == "Big Buck Bunny (webm).webm"


def test_a_missing_field_is_na_or_its_default():
    assert render("%(uploader)s - %(title)s", {"uploader": ""}) == "NA - Big Buck Bunny.mp4"
    assert render("%(uploader|Someone)s", {"uploader": None}) == "Someone.mp4"
    assert render("%(upload_date>%Y|)s %(title)s", {"upload_date": ""}) == "Big Buck Bunny.mp4"


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("%(description)s", "names the field 'description'"),
        ("%(formats.0.url)s", "names the field 'formats.0.url'"),
        ("%(title)d", "only playlist_index is one"),
        ("%(title)5s", "only %(playlist_index)03d takes one"),
        ("%(upload_date>%H:%M)s", "date directive %H"),
        ("%(title>%Y)s", "only upload_date is one"),
        ("%(title)r", "not of the supported subset"),
        ("%(title)s%", "not of the supported subset"),
        ("%(title+1)s", "names the field 'title+1'"),
        ("../%(title)s", "must not contain '/'"),
        ("a\\b", "'\\'"),
        ("a\x00b", "control or invisible"),
        ("   ", "non-empty"),
        ("x" * 301, "at most 300"),
    ],
)
def test_it_refuses_what_is_not_of_the_subset(template, says):
    with pytest.raises(TemplateError, match=None) as refused:
        parse(template)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("../../etc/passwd", "_.._etc_passwd.mp4"),
        ("a/b\\c", "a_b_c.mp4"),
        ("nul\x00byte\x07bell", "nulbytebell.mp4"),
        ("🎬 Caf\u0065\u0301 日本語", "🎬 Café 日本語.mp4"),  # NFC: one é
        ("CON", "CON_.mp4"),
        ("lpt1.txt", "lpt1.txt_.mp4"),
        ("-rf *", "_rf.mp4"),
        (".bashrc", "bashrc.mp4"),
        ("...", "_.mp4"),
        ("trailing dots and spaces. . ", "trailing dots and spaces.mp4"),
        ("holiday\u202egpj.exe", "holidaygpj.exe.mp4"),  # no bidirectional override
        ("info", "info_.mp4"),  # never one of the service's own files
        ("playlist", "playlist_.mp4"),
        ("", "NA.mp4"),
    ],
)
def test_hostile_titles_give_safe_names(title, expected):
    assert render("%(title)s", {"title": title}) == expected


def test_a_300_byte_title_is_cut_on_a_character_and_leaves_room_for_the_rest():
    name = render("%(title)s [%(id)s]", {"title": "é" * 150, "id": "abc"})  # 300 bytes
    assert name.endswith(" [abc].mp4")
    assert len(name.encode()) <= MAX_NAME_BYTES
    long_literal = render("x" * 250 + "%(title)s")
    assert len(long_literal.encode()) == MAX_NAME_BYTES and long_literal.endswith(".mp4")


def test_a_library_template_has_folder_levels_each_sanitized():
    template = "%(uploader)s/%(upload_date>%Y)s/%(title)s [%(id)s].%(ext)s"
    fields = {"uploader": "../..", "title": "a/b"}
    path = render(template, fields, folders=True)
    levels = path.split("/")
    assert len(levels) == 3 and levels[1:] == ["2008", "a_b [b].mp4"]
    assert all(level not in ("", ".", "..") and not level.startswith(".") for level in levels)
    assert render("%(uploader)s/%(title)s", {"uploader": "CON"}, folders=True).startswith("CON_/")


@pytest.mark.parametrize("template", ["/%(title)s", "%(uploader)s//%(title)s", "../%(title)s"])
def test_a_library_template_has_no_empty_or_parent_level(template):
    with pytest.raises(TemplateError, match="folder level"):
        parse(template, folders=True)


def test_media_fields_fall_back_as_yt_dlp_documents_them():
    info = {"title": "T", "id": "i", "channel": "Chan", "timestamp": 1_000_000_000}
    assert naming.media_fields(info) == {
        "title": "T",
        "uploader": "Chan",
        "upload_date": "20010909",
        "id": "i",
    }
    assert naming.media_fields({"title": 3, "id": None})["title"] == ""
