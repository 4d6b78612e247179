"""Files attached to answers: stored through the platform's file store, which checks size, type and
content; a field may narrow the types and the size further. Only a signed-in person may upload."""

from __future__ import annotations

from starlette.datastructures import UploadFile

from wanshi.bootstrap import Platform
from wanshi.forms.domain.schema import FormDocument
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import FileRejected, NotAuthenticated

OWNER_KIND = "form_answer"
MIB = 1024 * 1024


def store_uploads(
    platform: Platform,
    document: FormDocument,
    raw: dict[str, list[str]],
    uploads: dict[str, list[UploadFile]],
    actor: Actor,
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Store each upload and add its file id to the field's answers; returns the answers and file names."""
    if actor.user_id is None:
        raise NotAuthenticated("请先登录后再上传附件")
    names: dict[str, str] = {}
    out = dict(raw)
    for path, files in uploads.items():
        field = document.field(path.rsplit(".", 1)[-1])
        if field is None or field.type.value != "file":
            continue
        rule = field.validation
        for upload in files:
            with platform.uow() as uow:
                stored = platform.files.put(
                    uow,
                    upload.file,
                    upload.filename or "附件",
                    owner_kind=OWNER_KIND,
                    owner_id=actor.user_id,
                    tenant=actor.division_code or "",
                    actor=actor,
                )
                if rule.accept and stored.media_type not in rule.accept:
                    raise FileRejected(
                        f"{field.label}：不接受这种文件类型（{stored.media_type}）", reason="unsupported_type"
                    )
                if rule.max_file_mb and stored.size > rule.max_file_mb * MIB:
                    raise FileRejected(f"{field.label}：文件超过 {rule.max_file_mb} MB", reason="too_large")
                uow.commit()
            out.setdefault(path, []).append(str(stored.id))
            names[str(stored.id)] = stored.filename
    return out, names
