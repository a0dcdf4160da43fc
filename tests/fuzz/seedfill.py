"""What the request seed scripts share: filling a request's plain fields."""


def fill(msg, centre, ids, text=None, number=60):
    """Fills msg's scalar fields: centre, a fixed request id, every id
    field with the record of its kind in ids ({"family": "f2", ...}),
    other text from text (else "x"), times 0 ("now") and other numbers
    number. Repeated and message fields are left empty."""
    text = text or {}
    for f in msg.DESCRIPTOR.fields:
        if f.label == f.LABEL_REPEATED or f.message_type is not None:
            continue
        if f.name == "centre":
            setattr(msg, f.name, centre)
        elif f.name == "request_id":
            setattr(msg, f.name, bytes(range(16)))
        elif f.type == f.TYPE_STRING:
            kind = next((k for k in ids if k in f.name), None)
            setattr(msg, f.name, ids[kind] if kind else text.get(f.name, "x"))
        elif f.type in (f.TYPE_INT64, f.TYPE_INT32, f.TYPE_UINT64,
                        f.TYPE_UINT32, f.TYPE_SINT64):
            setattr(msg, f.name, 0 if f.name.endswith("_ms") else number)
    return msg
