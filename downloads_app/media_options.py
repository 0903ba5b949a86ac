"""A request's media-library options (issue 25): which subtitles to fetch, whether they go
into the file or beside it, and whether the cover, the tags and the chapters are
embedded. The request fields and their checks (MediaOptionsMixin), what a task stores of
them (Task.media_options: only the fields given; {} is every default), and their
translation into yt-dlp's own options and post-processors (MediaOptions). A new option is
one more field here.

yt-dlp does the work: its `writesubtitles` / `writeautomaticsub` / `subtitleslangs`
fetch the subtitles through the connection guard with the media, and its
post-processors embed them (FFmpegEmbedSubtitle), the tags and chapters (FFmpegMetadata)
and the cover (EmbedThumbnail). They run on the finished file, after the service's own
cut and conversion (task_work._produce, media.finalize_*), which keep only the video
and audio: what they embed is then in the container the client asked for, in a codec
it can hold (yt-dlp writes mov_text into MP4 and MOV).

Nothing here imports yt_dlp (ytdlp.py runs the steps): the steps are yt-dlp's own
post-processor specifications, {"key": ..., arguments...}, as its `postprocessors`
option takes them.
"""

import re
from dataclasses import dataclass, fields

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from downloads_app.request_fields import StrictBooleanField

# BCP 47-like language tags as sites name their subtitles ("en", "pt-BR", "zh-Hans",
# YouTube's "en-orig"): letters first, then short alphanumeric parts. yt-dlp reads each
# as a regular expression (`subtitleslangs`), so nothing else may pass.
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}")
ALL_LANGUAGES = "all"
MAX_SUBTITLE_LANGUAGES = 10
# yt-dlp's choice among a language's subtitle formats: WebVTT first (every container we
# embed in takes it, and browsers read it), then SubRip, then whatever the site has.
SUBTITLE_FORMATS = "vtt/srt/best"

# What each final container can hold, by the published file's extension (media.py's
# targets, and the source's own when no output_format is asked). From yt-dlp's
# FFmpegEmbedSubtitlePP (mov_text in MP4/MOV, native in Matroska, WebVTT only in WebM)
# and EmbedThumbnailPP (mutagen for MP4/M4A/OGG/Opus/FLAC, ffmpeg for MP3 and Matroska);
# the others (avi, flv, 3gp, aac, wav, ts...) keep subtitles beside the file and get no
# cover.
SUBTITLE_CONTAINERS = frozenset({"mp4", "mov", "mkv", "webm"})
# Not MOV: ffmpeg writes its tags where mutagen finds none to add the cover to, and its
# MOV muxer drops an attached picture.
COVER_CONTAINERS = frozenset({"mp4", "m4a", "mkv", "mp3", "ogg", "opus", "flac"})
# ffmpeg writes title/artist/date/... tags and chapters into these; ADTS (aac) and WAV
# have no place for them.
TAG_CONTAINERS = frozenset(
    {"mp4", "m4a", "mov", "mkv", "webm", "mp3", "ogg", "opus", "flac", "avi", "3gp"}
)
CHAPTER_CONTAINERS = frozenset({"mp4", "m4a", "mov", "mkv", "webm", "mp3", "ogg", "opus", "flac"})


@dataclass(frozen=True)
class MediaOptions:
    """A task's media options, every field set (its stored ones over the defaults)."""

    subtitles: tuple[str, ...] = ()  # language codes, or ("all",); (): none
    auto_subtitles: bool = False  # the site's automatic captions too
    embed_subtitles: bool | None = None  # None: when the container can hold them
    # Defaults for a media library: a file that carries its cover, tags and chapters.
    embed_thumbnail: bool = True
    embed_metadata: bool = True
    embed_chapters: bool = True

    @classmethod
    def of(cls, stored: dict | None) -> "MediaOptions":
        """From what Task.media_options holds (fields of an older or newer version that
        this one does not know are ignored)."""
        known = {field.name for field in fields(cls)}
        given = {name: value for name, value in (stored or {}).items() if name in known}
        if "subtitles" in given:
            given["subtitles"] = tuple(given["subtitles"] or ())
        return cls(**given)

    def download_options(self) -> dict:
        """yt-dlp's options that fetch the subtitles with the media (through the same
        guarded connections), into the work directory beside it."""
        if not self.subtitles:
            return {}
        return {
            "writesubtitles": True,
            "writeautomaticsub": self.auto_subtitles,
            "subtitleslangs": list(self.subtitles),
            "subtitlesformat": SUBTITLE_FORMATS,
        }

    def embeds_subtitles(self, ext: str) -> bool:
        """Whether the subtitles go into a file of this extension; those that do not
        are published beside it (extra_files)."""
        if not self.subtitles or ext not in SUBTITLE_CONTAINERS:
            return False
        return self.embed_subtitles is not False

    def postprocessors(self, ext: str, before_tags: tuple = ()) -> list[dict]:
        """yt-dlp's post-processors for the finished file of this extension, in yt-dlp's
        own order (yt_dlp/__init__.py): subtitles first; then `before_tags`, steps that
        change the media or its chapters (SponsorBlock's ModifyChapters cuts the embedded
        subtitles with the rest), so that the chapters and tags written next describe the
        final file; the cover last (FFmpegMetadata's M4A pass drops video streams, a cover
        among them)."""
        steps = []
        if self.embeds_subtitles(ext):
            if ext == "webm":  # WebM holds WebVTT only
                steps.append({"key": "FFmpegSubtitlesConvertor", "format": "vtt"})
            # The files are the service's to publish or remove, not the step's.
            steps.append({"key": "FFmpegEmbedSubtitle", "already_have_subtitle": True})
        steps.extend(before_tags)
        add_metadata = self.embed_metadata and ext in TAG_CONTAINERS
        add_chapters = self.embed_chapters and ext in CHAPTER_CONTAINERS
        if add_metadata or add_chapters:
            steps.append(
                {
                    "key": "FFmpegMetadata",
                    "add_metadata": add_metadata,
                    "add_chapters": add_chapters,
                    "add_infojson": False,
                }
            )
        if self.embed_thumbnail and ext in COVER_CONTAINERS:
            steps.append({"key": "EmbedThumbnail", "already_have_thumbnail": True})
        return steps


# Every post-processor a step may name: a system check (checks.py) fails when yt-dlp
# has one no more.
POSTPROCESSORS = (
    "FFmpegSubtitlesConvertor",
    "FFmpegEmbedSubtitle",
    "FFmpegMetadata",
    "EmbedThumbnail",
)
# Steps whose failure leaves the file as it was rather than failing the task: a cover
# that will not embed (an odd image) costs less than the download.
OPTIONAL_STEPS = frozenset({"EmbedThumbnail"})


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "pattern": f"^{LANGUAGE_TAG.pattern}$"},
        "maxItems": MAX_SUBTITLE_LANGUAGES,
        "description": 'The subtitle languages to fetch, as the site names them ("en", '
        '"pt-BR", "zh-Hans"), or ["all"]. A language the site lacks is skipped. Absent or '
        "[]: none.",
        "example": ["en"],
    }
)
class SubtitleLanguagesField(serializers.Field):
    def to_internal_value(self, data):
        if not isinstance(data, list):
            raise serializers.ValidationError('must be a list of language codes, such as ["en"]')
        if data == [ALL_LANGUAGES]:
            return data
        if ALL_LANGUAGES in data:
            raise serializers.ValidationError('"all" stands alone: ["all"]')
        if len(data) > MAX_SUBTITLE_LANGUAGES:
            raise serializers.ValidationError(
                f'must name at most {MAX_SUBTITLE_LANGUAGES} languages, or be ["all"]'
            )
        for code in data:
            if not isinstance(code, str):
                raise serializers.ValidationError("must be a list of strings")
            if not LANGUAGE_TAG.fullmatch(code):
                raise serializers.ValidationError(
                    f"{code[:40]!r} is not a language code such as en, pt-BR or zh-Hans"
                )
        if len(set(data)) != len(data):
            raise serializers.ValidationError("names a language twice")
        return list(data)

    def to_representation(self, value):
        return value


class MediaOptionsMixin(serializers.Serializer):
    """The media options of get_video, get_audio and get_playlist (its entries get
    them); validated into `media_options`: the fields given, and only those, so that a
    default that changes applies to the tasks that did not choose."""

    subtitles = SubtitleLanguagesField(required=False)
    auto_subtitles = StrictBooleanField(
        required=False,
        help_text="With `subtitles`: the site's automatic captions too, for a language "
        "that has no subtitles of its own. Default false.",
    )
    embed_subtitles = StrictBooleanField(
        required=False,
        help_text="With `subtitles`: put them into the file (mov_text in MP4/MOV, as they "
        "are in MKV, WebVTT in WebM). Default true when the container can hold them; "
        "false, or a container that cannot (audio, AVI...): each is published beside the "
        "file, in `extra_files`.",
    )
    embed_thumbnail = StrictBooleanField(
        required=False,
        help_text="Cover art in MP4, M4A, MKV, MP3, OGG, Opus and FLAC files (other "
        "containers have none). Default true.",
    )
    embed_metadata = StrictBooleanField(
        required=False,
        help_text="Tags: title, artist (the uploader), date, description, URL. Default true.",
    )
    embed_chapters = StrictBooleanField(
        required=False, help_text="The media's chapters, when it has any. Default true."
    )

    def validate(self, data):
        data = super().validate(data)
        names = [field.name for field in fields(MediaOptions)]
        options = {name: data.pop(name) for name in names if name in data}
        if not options.get("subtitles"):
            for name in ("auto_subtitles", "embed_subtitles"):
                if name in options:
                    raise serializers.ValidationError(
                        {name: ['applies to subtitles: name them in `subtitles`, e.g. ["en"]']}
                    )
        if options.get("auto_subtitles") and options.get("subtitles") == [ALL_LANGUAGES]:
            # A site's automatic captions come in every language it translates to
            # (YouTube: over a hundred), each a request that a site soon refuses.
            raise serializers.ValidationError(
                {"auto_subtitles": ['is for named languages, not ["all"]: name them']}
            )
        data["media_options"] = options
        return data
