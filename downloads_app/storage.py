"""Where a task's finished files are kept: DOWNLOAD_DIR (STORAGE=local, the default), or a
bucket (STORAGE=s3), through django-storages' S3 backend and its AWS_* settings.

With a bucket, a task's files are the objects under `<AWS_LOCATION>/<task id>/`:
- the task's child uploads every file of the task's folder there as its work ends
  (publish), streamed in parts by boto3's managed transfer, then deletes its local copy;
  the task completes only once they are all in the bucket;
- the web side reads what it needs from the database (Task.file_size) and serves the
  objects: a redirect to a presigned URL, or streamed with Range (file_response), the
  playlist's ZIP streamed from the bucket (zip_members);
- deleting a task writes a BucketDeletion row in the transaction that deletes it
  (forget); delete_pending then deletes its objects, at once or at a later cleanup when
  the bucket cannot be reached; sweep_orphan_prefixes deletes prefixes no task owns.

boto3 is imported only when a bucket is used: the local default pays nothing for it.
"""

import contextlib
import functools
import json
import logging
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import F
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse

from downloads_app import files
from downloads_app.models import BucketDeletion, Task, TaskStatus

logger = logging.getLogger("ytdlphost.tasks")

# How long the service waits for the bucket: a /healthz probe and a request must not hang
# on an unreachable endpoint for boto3's default minute and five attempts.
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 60
ATTEMPTS = 3
# What the task's `error` says when its files could not be stored; the exception (which
# names the endpoint, an internal host) goes to the log only.
UPLOAD_FAILED = "The file could not be stored (the file storage failed); retry later"
# Error codes by which an answer says the object is not there.
MISSING = {"NoSuchKey", "404", "NotFound"}
# Most keys one DeleteObjects request takes (S3's limit).
DELETE_BATCH = 1000


def remote() -> bool:
    """Whether finished files live in a bucket rather than DOWNLOAD_DIR."""
    return settings.STORAGE == "s3"


class StorageFailed(Exception):
    """The bucket could not be reached, or refused; its message is safe to show."""


def _storage_errors() -> tuple[type[Exception], ...]:
    """What boto3 and botocore raise when the bucket fails (imported only then)."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, Boto3Error, StorageFailed)


def new_storage():
    """An S3Storage of the AWS_* settings, with its own connections: a forked child makes
    its own rather than share its worker's sockets."""
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from storages.backends.s3 import S3Storage

    return S3Storage(
        # Given whole, so django-storages' own (addressing style, signature) is built here.
        client_config=Config(
            s3={"addressing_style": settings.AWS_S3_ADDRESSING_STYLE},
            signature_version=settings.AWS_S3_SIGNATURE_VERSION,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"mode": "standard", "max_attempts": ATTEMPTS},
        ),
        # Uploads by file name (publish): s3transfer reads each part from the file as it
        # sends it, so a part is never held in memory whole: about 20 MiB whatever
        # S3_MULTIPART_CHUNKSIZE, where an open file (django-storages' save()) takes
        # ~200 MiB for the same upload (bench/README.md, "Uploading a task's files").
        transfer_config=TransferConfig(
            multipart_threshold=settings.S3_MULTIPART_CHUNKSIZE,
            multipart_chunksize=settings.S3_MULTIPART_CHUNKSIZE,
            max_concurrency=settings.S3_UPLOAD_CONCURRENCY,
        ),
    )


def warm_up() -> None:
    """In a worker as it starts (supervisor.warm_up_worker): with a bucket, boto3 and
    django-storages imported once, which each task's child then inherits rather than
    importing them (most of a second of CPU) for its upload."""
    if remote():
        new_storage()


@functools.cache
def bucket_storage():
    """This process's storage (its connections are per thread, django-storages' own)."""
    return new_storage()


@receiver(setting_changed)
def _settings_changed(setting, **kwargs):
    if setting.startswith(("AWS_", "S3_", "STORAGE")):
        bucket_storage.cache_clear()


def _key(storage, *parts: str) -> str:
    return "/".join(part for part in (storage.location, *parts) if part)


def _prefix(storage, task_id: str) -> str:
    return _key(storage, task_id) + "/"


def _client(storage):
    return storage.connection.meta.client


# --- The worker's side ------------------------------------------------------------------


def keep(task_id: str, directory: Path, file_name: str) -> int:
    """The last step of a task's work, in its child: the size of its file; with a bucket,
    every regular file of the task's folder (the media, info.json, subtitles, a
    thumbnail: whatever the work left there) is uploaded first and its local copy
    deleted. Raises StorageFailed when the upload fails, its objects removed."""
    size = (directory / file_name).stat().st_size
    if remote():
        publish(task_id, directory)
    return size


def publish(task_id: str, directory: Path) -> None:
    storage = new_storage()  # in the task's child: never its worker's connections
    finished = [
        path for path in sorted(directory.iterdir()) if path.is_file() and not path.is_symlink()
    ]  # the work directories (.partial-N) are directories, and are not the result
    try:
        for path in finished:
            storage.bucket.upload_file(
                str(path),
                _key(storage, task_id, path.name),
                ExtraArgs={"ContentType": files.content_type(path)},
                Config=storage.transfer_config,
            )
    except (*_storage_errors(), OSError) as exc:
        logger.warning("task %s: uploading its files failed: %s", task_id, exc)
        try:
            remove_objects(task_id, storage)
        except _storage_errors() as removal:
            # Under the prefix of a task that stays (failed): deleted with it at expiry.
            logger.warning("task %s: its partial objects stay for now: %s", task_id, removal)
        raise StorageFailed(UPLOAD_FAILED) from exc
    for path in finished:
        path.unlink(missing_ok=True)


def discard_failed_run(task: Task) -> None:
    """Remove what a run that did not complete may have put into the bucket (its child
    killed while uploading: cancelled, past a limit, the task deleted meanwhile). Only
    while no other run may be using the prefix: the task is gone, or still at this run's
    attempt and not completed (a late run of a recovered task leaves the next run's
    objects alone). A failure is logged: the objects go with the task's prefix when it is
    deleted, and the orphan sweep takes those of a deleted task."""
    if not remote():
        return
    row = Task.objects.filter(pk=task.pk).values_list("attempts", "status").first()
    if row is not None and (row[0] != task.attempts or row[1] == TaskStatus.COMPLETED):
        return
    try:
        remove_objects(task.id)
    except _storage_errors() as exc:
        logger.warning("task %s: could not remove its partial objects: %s", task.id, exc)


# --- Deleting ---------------------------------------------------------------------------


def remove_objects(task_id: str, storage=None) -> int:
    """Delete every object under the task's prefix, and abort its unfinished multipart
    uploads (a child killed while uploading leaves one, whose parts cost storage); the
    number of objects deleted."""
    storage = storage or bucket_storage()
    client, bucket, prefix = _client(storage), storage.bucket_name, _prefix(storage, task_id)
    removed = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": entry["Key"]} for entry in page.get("Contents", ())]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            answer = client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                failure = answer["Errors"][0]
                raise StorageFailed(f"{failure.get('Code')}: {failure.get('Message')}")
            removed += len(batch)
    from botocore.exceptions import ClientError

    try:
        uploads = client.get_paginator("list_multipart_uploads")
        for page in uploads.paginate(Bucket=bucket, Prefix=prefix):
            for upload in page.get("Uploads", ()):
                client.abort_multipart_upload(
                    Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
    except ClientError as exc:
        if _error_code(exc) != "NotImplemented":  # a server that lists no uploads
            raise
    return removed


def _error_code(exc) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def forget(task_ids) -> None:
    """In the transaction that deletes the tasks' rows: their objects are to be deleted
    (BucketDeletion), committed with the deletion, so nothing is lost between the two."""
    if remote() and task_ids:
        BucketDeletion.objects.bulk_create(
            [BucketDeletion(task_id=task_id) for task_id in task_ids], ignore_conflicts=True
        )


def delete_pending(task_ids=None) -> dict:
    """Delete the objects of deleted tasks (BucketDeletion rows; only `task_ids`' when
    given), oldest first, each row once its prefix is empty. A row that fails stays for
    the next cleanup, with its attempts and error; an unreachable bucket (a failure of
    the connection, not an answer) ends the pass, as every other row would fail alike."""
    from botocore.exceptions import BotoCoreError

    if not remote():
        return {}
    pending = BucketDeletion.objects.order_by("created_at")
    if task_ids is not None:
        pending = pending.filter(task_id__in=list(task_ids))
    deleted = 0
    for task_id in list(pending.values_list("task_id", flat=True)):
        try:
            remove_objects(task_id)
        except _storage_errors() as exc:
            BucketDeletion.objects.filter(pk=task_id).update(
                attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:1000]
            )
            logger.warning(
                "task %s: deleting its objects failed, left for the next cleanup: %s",
                task_id, exc,
            )  # fmt: skip
            if isinstance(exc, BotoCoreError):
                break
        else:
            BucketDeletion.objects.filter(pk=task_id).delete()
            deleted += 1
    return {"bucket_deleted": deleted, "bucket_left": BucketDeletion.objects.count()}


def sweep_orphan_prefixes() -> int:
    """Delete the prefixes under AWS_LOCATION that belong to no task and are not pending
    already: what a run uploaded after its task was deleted, or a crash left. The bucket
    (or AWS_LOCATION in it) is the service's own. No grace period, unlike DOWNLOAD_DIR's
    sweep: a task's objects are uploaded only after its row was claimed, so a prefix
    whose task is not in the database never has one again."""
    storage = bucket_storage()
    root = f"{storage.location}/" if storage.location else ""
    names = []
    pages = (
        _client(storage)
        .get_paginator("list_objects_v2")
        .paginate(Bucket=storage.bucket_name, Prefix=root, Delimiter="/")
    )
    for page in pages:
        found = page.get("CommonPrefixes", ())
        names += [entry["Prefix"][len(root) :].rstrip("/") for entry in found]
    known = set()
    for start in range(0, len(names), 500):  # below every database's limit of parameters
        batch = names[start : start + 500]
        known.update(Task.objects.filter(pk__in=batch).values_list("id", flat=True))
        known.update(BucketDeletion.objects.filter(pk__in=batch).values_list("task_id", flat=True))
    swept = 0
    for name in names:
        if name not in known:
            remove_objects(name, storage)
            swept += 1
    return swept


def health_check() -> dict:
    """/healthz's `storage`: the bucket answers, and how many deletions wait for it."""
    storage = bucket_storage()
    _client(storage).head_bucket(Bucket=storage.bucket_name)
    return {"ok": True, "deletions_pending": BucketDeletion.objects.count()}


# --- The web side -----------------------------------------------------------------------


def file_size(task: Task) -> int | None:
    """The size of a completed task's file: recorded at completion (the web side of a
    bucket has no disk), or read from DOWNLOAD_DIR as it always was."""
    if remote():
        return task.file_size
    try:
        return (settings.DOWNLOAD_DIR / task.id / task.file_name).stat().st_size
    except OSError:
        return None


def read_task_file(task_id: str, name: str) -> bytes:
    """A small file of a task (its info.json), whole. Raises OSError when it is missing
    or cannot be read (a bucket that fails included)."""
    if not remote():
        return (settings.DOWNLOAD_DIR / task_id / name).read_bytes()
    storage = bucket_storage()
    try:
        answer = _client(storage).get_object(
            Bucket=storage.bucket_name, Key=_key(storage, task_id, name)
        )
        with contextlib.closing(answer["Body"]) as body:
            return body.read()
    except _storage_errors() as exc:
        if _error_code(exc) in MISSING:
            raise FileNotFoundError(f"{name} of task {task_id} is not in the bucket") from exc
        raise OSError(f"{name} of task {task_id} could not be read from the bucket") from exc


def read_json(task_id: str, name: str):
    return json.loads(read_task_file(task_id, name))


def file_response(request, task: Task, name: str, disposition: str) -> HttpResponse:
    """GET /files of one of a completed task's published files (its file, or one of its
    extra files: Task.published_names) in the bucket, once FileView has decided the
    request may have it: a redirect to a presigned URL (S3_PRESIGNED_REDIRECT) that
    carries the Content-Disposition and type as response overrides, so the bytes never
    pass through the web side; else the object (or the range asked for) streamed."""
    if settings.S3_PRESIGNED_REDIRECT:
        url = bucket_storage().url(
            f"{task.id}/{name}",
            parameters={
                "ResponseContentDisposition": disposition,
                "ResponseContentType": files.content_type(Path(name)),
            },
            # A HEAD follows its redirect as a HEAD: signed for what it will send.
            http_method="HEAD" if request.method == "HEAD" else "GET",
        )
        return HttpResponseRedirect(url)
    return _streamed(request, task, name, disposition)


def _streamed(request, task: Task, name: str, disposition: str) -> HttpResponse:
    """The object, or the requested range of it, as files.file_response sends a file of
    the disk: the same ranges, 206 and 416. Read straight from boto3's streamed body (not
    django-storages' S3File, which first copies the whole object to a spooled file)."""
    size = task.file_size if name == task.file_name else task.extra_file_size(name)
    try:
        byte_range = files.parse_range(request.headers.get("Range", ""), size) if size else None
    except ValueError:
        response = JsonResponse({"error": "Range not satisfiable"}, status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    storage = bucket_storage()
    arguments = {"Bucket": storage.bucket_name, "Key": _key(storage, task.id, name)}
    if byte_range is not None:
        arguments["Range"] = "bytes={}-{}".format(*byte_range)
    try:
        answer = _client(storage).get_object(**arguments)
    except _storage_errors() as exc:
        if _error_code(exc) in MISSING:
            return JsonResponse({"error": "File not found"}, status=404)
        logger.warning("task %s: reading its file from the bucket failed: %s", task.id, exc)
        return JsonResponse({"error": "The file storage is unavailable; retry later"}, status=503)
    content_type = files.content_type(Path(name))
    response = StreamingHttpResponse(_chunks(answer["Body"]), content_type=content_type)
    if byte_range is not None:
        start, end = byte_range
        response.status_code = 206
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(answer["ContentLength"])
    response["Content-Disposition"] = disposition
    response["Accept-Ranges"] = "bytes"
    return response


def _chunks(body):
    try:
        yield from body.iter_chunks(files.CHUNK_SIZE)
    finally:
        body.close()


def zip_members(entries) -> list[files.ZipMember]:
    """The playlist ZIP's members (files.zip_stream) from the bucket: for each entry
    (task id, file name, name in the archive, size, finished at), its header from the
    database and its body opened from the bucket when the archive reaches it."""
    storage = bucket_storage()
    members = []
    for task_id, file_name, name, size, finished_at in entries:
        member = zipfile.ZipInfo(name, date_time=finished_at.timetuple()[:6])
        member.file_size = size or 0
        member.external_attr = 0o644 << 16  # a regular file, as the disk's would be
        key = _key(storage, task_id, file_name)
        members.append((member, functools.partial(_open_object, storage, key)))
    return members


def _open_object(storage, key: str):
    return _client(storage).get_object(Bucket=storage.bucket_name, Key=key)["Body"]
