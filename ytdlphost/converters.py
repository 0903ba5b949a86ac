from django.urls import register_converter


class SegmentConverter:
    """One path segment without NUL bytes. PostgreSQL refuses NUL in text, so a
    `%00` in a key name or task id must miss the route (404) rather than reach a query."""

    regex = "[^/\x00]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(SegmentConverter, "segment")
