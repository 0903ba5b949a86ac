"""How a page of tasks is listed and rendered (GET /tasks), for its view and its fast
route alike."""

import functools

from rest_framework.renderers import JSONRenderer

from downloads_app import schema, serializers, services


def task_list_page(user, query: dict, if_none_match: str | None) -> tuple[str, bytes | None]:
    """(ETag, JSON body) of the /tasks page `query` (validated, `all` allowed) asks
    `user` for; the body is None when `if_none_match` names the ETag (a 304). Checked before the
    page is read and serialized: polling an unchanged list (the web page does) is one
    small query."""
    filters = tuple(
        sorted((name, query[name]) for name in ("status", "task_type") if name in query)
    )
    api_key_id, limit, after = (
        None if query["all"] else user.pk,
        query["limit"],
        query.get("cursor"),
    )
    etag = f'"{services.task_list_version(api_key_id, filters, limit, after)}"'
    sent = (if_none_match or "").replace("W/", "")
    if etag in (tag.strip() for tag in sent.split(",")):
        return etag, None
    return etag, rendered_task_page(api_key_id, filters, limit, after, etag)


# A few pages per key for a few dozen keys; a page of 50 is about 30 KB.
@functools.lru_cache(maxsize=128)
def rendered_task_page(api_key_id: int | None, filters: tuple, limit: int, after, etag: str):
    """The JSON body of a /tasks page, kept per process under its `etag` (least recently
    used first out). The ETag is a digest of everything a page shows
    (services.task_list_version), so a body kept under it is the body the page would be
    serialized to again: a repeated GET of an unchanged page (clients polling the list)
    costs the ETag's query, not the page's read and serializing. `etag` is read only as
    part of the cache's key."""
    tasks = services.task_list(api_key_id, filters, limit, after)
    page = tasks[:limit]
    entries = schema.TaskListEntryOutput(
        page, many=True, context={"with_key_name": api_key_id is None}
    ).data
    more = len(tasks) > limit
    next_cursor = serializers.task_cursor(page[-1]) if more else None
    return JSONRenderer().render({"tasks": entries, "next": next_cursor})
