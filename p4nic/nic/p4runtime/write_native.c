/* The native half of the P4Runtime Write hot path (p4nic/nic/p4runtime/native_writes.py).
 *
 * A Write of many table entries costs the Python path ~8-10 us an entry (re-serializing each
 * Update, a regular expression, generated Python, MatchTable's insert); BMv2+PI takes ~5 us.
 * This module reads the WriteRequest's wire bytes itself, in three kinds of call per request
 * (split and decode a piece at a time, so that packets get the interpreter in between):
 *
 *   split(data, start, limit)         -> (header bytes, [(start, end) of each Update], stop)
 *                                        | None  (`limit` Updates at most, from `start`)
 *   decode(layouts, data, spans)      -> ([decoded tuple | None], {new table ids}, None count)
 *   single(layouts, data)             -> (device id, election id, decoded tuple) | None
 *   insert(targets, items, i, stop, role, now, errors) -> index of the first item not inserted
 *
 * decode() accepts exactly the Updates the Python codecs (codecs.py) accept, and only in the
 * canonical form protobuf serializes (fields in number order, minimal varints, no default
 * values written out), so that its result, the stored echo bytes included, is what the Python
 * path makes of the same request; anything else is None, and Python serves it. insert() puts
 * INSERTs into exact and single-field lpm tables exactly as MatchTable._store/_place do, and
 * stops at the first item it cannot take (another kind, a key that exists, a full table, a new
 * prefix length): Python applies that one and calls again.
 *
 * single() reads a request of one Update whole (its header fields too), for a one-update
 * Write answered in place on the serving thread (server.py, write_in_place).
 *
 * The bytes come from the network: every read goes through `Reader`, which checks bounds.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

/* ---- bounded reading of protobuf wire bytes ----------------------------------------------- */

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} Reader;

/* A varint of at most 10 bytes into *out; 0 when truncated or too long. */
static int read_varint_any(Reader *r, uint64_t *out)
{
    uint64_t value = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return 0;
        unsigned char b = *r->p++;
        value |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i == 9 && b > 1)
                return 0;               /* beyond 64 bits */
            *out = value;
            return 1;
        }
    }
    return 0;
}

/* A varint as protobuf writes it: no redundant trailing zero group. */
static int read_varint(Reader *r, uint64_t *out)
{
    const unsigned char *start = r->p;
    if (!read_varint_any(r, out))
        return 0;
    return r->p - start == 1 || r->p[-1] != 0;
}

static int expect_byte(Reader *r, unsigned char b)
{
    if (r->p >= r->end || *r->p != b)
        return 0;
    r->p++;
    return 1;
}

static int peek_byte(const Reader *r, unsigned char b)
{
    return r->p < r->end && *r->p == b;
}

/* A length-delimited field's contents (its tag already read) as a sub-reader. */
static int read_framed(Reader *r, Reader *inner)
{
    uint64_t length;
    if (!read_varint(r, &length) || length > (uint64_t)(r->end - r->p))
        return 0;
    inner->p = r->p;
    inner->end = r->p + length;
    r->p += length;
    return 1;
}

/* ---- values: canonical bytestrings (P4Runtime spec "Bytestrings") -------------------------- */

typedef struct {
    const unsigned char *p;
    Py_ssize_t n;
} Value;

typedef struct {
    int width;          /* bits */
    int size;           /* bytes */
    unsigned char top;  /* the largest first byte of a full-size value */
} Width;

static Width make_width(int width)
{
    Width w;
    w.width = width;
    w.size = (width + 7) / 8;
    w.top = (unsigned char)((1u << (width - 8 * (w.size - 1))) - 1);
    return w;
}

/* A bytes field holding a canonical value of width `w`: no leading zero byte (but b"\0"),
 * no bits beyond the width. */
static int read_value(Reader *r, const Width *w, Value *v)
{
    Reader inner;
    if (!read_framed(r, &inner))
        return 0;
    v->p = inner.p;
    v->n = inner.end - inner.p;
    if (v->n < 1 || v->n > w->size)
        return 0;
    if (v->n > 1 && v->p[0] == 0)
        return 0;
    return v->n < w->size || v->p[0] <= w->top;
}

/* The byte `i` places from the least significant end (0 beyond the value's own bytes). */
static unsigned char byte_from_end(const Value *v, Py_ssize_t i)
{
    return i < v->n ? v->p[v->n - 1 - i] : 0;
}

static int is_zero(const Value *v)
{
    return v->n == 1 && v->p[0] == 0;
}

/* Are the low `bits` bits of v all zero? */
static int low_bits_zero(const Value *v, int bits)
{
    Py_ssize_t i = 0;
    for (; bits >= 8; bits -= 8, i++)
        if (byte_from_end(v, i))
            return 0;
    return bits == 0 || !(byte_from_end(v, i) & ((1u << bits) - 1));
}

/* Is every bit of v inside mask m? */
static int inside_mask(const Value *v, const Value *m)
{
    for (Py_ssize_t i = 0; i < v->n; i++)
        if (byte_from_end(v, i) & ~byte_from_end(m, i))
            return 0;
    return 1;
}

/* Compare canonical values: no leading zeros, so the longer is the larger. */
static int compare_values(const Value *a, const Value *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    return memcmp(a->p, b->p, a->n);
}

static int is_full(const Value *v, const Width *w)
{
    if (v->n != w->size || v->p[0] != w->top)
        return 0;
    for (Py_ssize_t i = 1; i < v->n; i++)
        if (v->p[i] != 0xff)
            return 0;
    return 1;
}

static PyObject *value_to_int(const Value *v)
{
    if (v->n <= 8) {
        unsigned long long x = 0;
        for (Py_ssize_t i = 0; i < v->n; i++)
            x = (x << 8) | v->p[i];
        return PyLong_FromUnsignedLongLong(x);
    }
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(v->p, v->n, Py_ASNATIVEBYTES_BIG_ENDIAN);
#else
    return _PyLong_FromByteArray(v->p, v->n, 0, 0);
#endif
}

/* A tuple of ints only: the collector would untrack it at its first pass; do it now, so that
 * tables of many entries do not make every collection longer. */
static PyObject *untracked(PyObject *tuple)
{
    if (tuple != NULL && PyObject_GC_IsTracked(tuple))
        PyObject_GC_UnTrack(tuple);
    return tuple;
}

/* (a, b), stealing both references; an untracked tuple (see untracked()) */
static PyObject *pair(PyObject *a, PyObject *b)
{
    PyObject *t = (a && b) ? PyTuple_New(2) : NULL;
    if (t == NULL) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, a);
    PyTuple_SET_ITEM(t, 1, b);
    return untracked(t);
}

/* ---- TableLayout: what decode() needs to know of one table -------------------------------- */

enum { EXACT, LPM, TERNARY, RANGE, OPTIONAL };
static const unsigned char KIND_TAGS[] = {0x12, 0x22, 0x1a, 0x32, 0x3a};   /* FieldMatch oneof */
static const char *KIND_NAMES[] = {"exact", "lpm", "ternary", "range", "optional"};

typedef struct {
    uint64_t id;
    int kind;
    int full_optional;      /* an optional key that the JSON matches as ternary: (v, all ones) */
    Width w;
    PyObject *full;         /* all ones of the width, for full_optional */
} FieldLayout;

typedef struct {
    uint64_t id;
    Width w;
} ParamLayout;

typedef struct {
    uint64_t id;
    PyObject *json_id;
    Py_ssize_t nparams;
    ParamLayout *params;
} ActionLayout;

typedef struct {
    PyObject_HEAD
    uint64_t table_id;
    PyObject *table_id_obj;
    int needs_priority;
    int idle_timeout;
    Py_ssize_t nfields;
    FieldLayout *fields;
    Py_ssize_t nactions;
    ActionLayout *actions;
} TableLayout;

static void layout_dealloc(TableLayout *self)
{
    for (Py_ssize_t i = 0; i < self->nfields; i++)
        Py_XDECREF(self->fields[i].full);
    for (Py_ssize_t i = 0; i < self->nactions; i++) {
        Py_XDECREF(self->actions[i].json_id);
        PyMem_Free(self->actions[i].params);
    }
    PyMem_Free(self->fields);
    PyMem_Free(self->actions);
    Py_XDECREF(self->table_id_obj);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int parse_width(PyObject *obj, Width *w)
{
    long width = PyLong_AsLong(obj);
    if (width == -1 && PyErr_Occurred())
        return 0;
    if (width < 1 || width > 1 << 16) {
        PyErr_Format(PyExc_ValueError, "bad bit width %ld", width);
        return 0;
    }
    *w = make_width((int)width);
    return 1;
}

/* TableLayout(table_id, needs_priority, idle_timeout,
 *             fields: [(field_id, kind name, bitwidth, full_optional)],
 *             actions: [(action_id, json_action_id, [(param_id, bitwidth)])]) */
static PyObject *layout_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    unsigned long long table_id;
    int needs_priority, idle_timeout;
    PyObject *fields, *actions;
    if (!PyArg_ParseTuple(args, "KppO!O!", &table_id, &needs_priority, &idle_timeout,
                          &PyList_Type, &fields, &PyList_Type, &actions))
        return NULL;
    TableLayout *self = (TableLayout *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->table_id = table_id;
    self->table_id_obj = PyLong_FromUnsignedLongLong(table_id);
    if (self->table_id_obj == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->needs_priority = needs_priority;
    self->idle_timeout = idle_timeout;
    self->fields = PyMem_Calloc(PyList_GET_SIZE(fields) + 1, sizeof(FieldLayout));
    self->actions = PyMem_Calloc(PyList_GET_SIZE(actions) + 1, sizeof(ActionLayout));
    if (self->fields == NULL || self->actions == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(fields); i++) {
        FieldLayout *f = &self->fields[i];
        unsigned long long id;
        const char *kind;
        PyObject *width;
        int full_optional;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(fields, i), "KsOp", &id, &kind, &width,
                              &full_optional) || !parse_width(width, &f->w))
            goto error;
        self->nfields = i + 1;
        f->id = id;
        f->kind = -1;
        for (int k = 0; k < 5; k++)
            if (strcmp(kind, KIND_NAMES[k]) == 0)
                f->kind = k;
        if (f->kind < 0 || (f->kind == LPM && f->w.width > 128)) {
            PyErr_Format(PyExc_ValueError, "no native layout for a %s field of %d bits", kind,
                         f->w.width);
            goto error;
        }
        f->full_optional = full_optional && f->kind == OPTIONAL;
        if (f->full_optional) {
            PyObject *one = PyLong_FromLong(1), *shift = PyLong_FromLong(f->w.width);
            PyObject *power = one && shift ? PyNumber_Lshift(one, shift) : NULL;
            f->full = power ? PyNumber_Subtract(power, one) : NULL;
            Py_XDECREF(one);
            Py_XDECREF(shift);
            Py_XDECREF(power);
            if (f->full == NULL)
                goto error;
        }
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(actions); i++) {
        ActionLayout *a = &self->actions[i];
        unsigned long long id;
        PyObject *json_id, *params;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(actions, i), "KOO!", &id, &json_id,
                              &PyList_Type, &params))
            goto error;
        self->nactions = i + 1;
        a->id = id;
        a->json_id = Py_NewRef(json_id);
        a->params = PyMem_Calloc(PyList_GET_SIZE(params) + 1, sizeof(ParamLayout));
        if (a->params == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(params); k++) {
            unsigned long long param_id;
            PyObject *width;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(params, k), "KO", &param_id, &width)
                    || !parse_width(width, &a->params[k].w))
                goto error;
            a->params[k].id = param_id;
            a->nparams = k + 1;
        }
    }
    return (PyObject *)self;
error:
    Py_DECREF(self);
    return NULL;
}

static PyTypeObject TableLayoutType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "p4nic_write_native.TableLayout",
    .tp_doc = "What decode() needs to know of one table: key fields, actions, entry rules.",
    .tp_basicsize = sizeof(TableLayout),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = layout_new,
    .tp_dealloc = (destructor)layout_dealloc,
};

/* ---- split(): the WriteRequest's Updates, and everything else ------------------------------ */

#define WRITE_REQUEST_UPDATES 4

/* Skip one field's value of wire type `wire` (groups are not taken: the caller gives up). */
static int skip_value(Reader *r, unsigned wire)
{
    uint64_t ignored;
    Reader inner;
    switch (wire) {
    case 0: return read_varint_any(r, &ignored);
    case 1: if (r->end - r->p < 8) return 0; r->p += 8; return 1;
    case 2: return read_framed(r, &inner);
    case 5: if (r->end - r->p < 4) return 0; r->p += 4; return 1;
    default: return 0;
    }
}

static PyObject *split(PyObject *module, PyObject *args)
{
    PyObject *arg;
    Py_ssize_t start = 0, limit = PY_SSIZE_T_MAX;
    Py_buffer buffer;
    if (!PyArg_ParseTuple(args, "O|nn", &arg, &start, &limit))
        return NULL;
    if (PyObject_GetBuffer(arg, &buffer, PyBUF_SIMPLE) < 0)
        return NULL;
    if (start < 0 || start > buffer.len || limit < 0) {
        PyBuffer_Release(&buffer);
        PyErr_SetString(PyExc_ValueError, "split(): start outside the data, or limit < 0");
        return NULL;
    }
    const unsigned char *base = buffer.buf;
    Reader r = {base + start, base + buffer.len};
    PyObject *spans = PyList_New(0);
    unsigned char *header = PyMem_Malloc(buffer.len + 1);
    Py_ssize_t header_len = 0;
    PyObject *result = NULL;
    if (spans == NULL || header == NULL) {
        if (header == NULL)
            PyErr_NoMemory();
        goto done;
    }
    while (r.p < r.end && PyList_GET_SIZE(spans) < limit) {
        const unsigned char *field = r.p;
        uint64_t tag;
        /* a tag written at more length than needed: protobuf's pure-Python runtime does not
         * take it for the field its number says (upb does), so Python parses that request */
        if (!read_varint(&r, &tag) || tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
            goto give_up;
        if (tag == (WRITE_REQUEST_UPDATES << 3 | 2)) {
            Reader update;
            if (!read_framed(&r, &update))
                goto give_up;
            PyObject *span = pair(PyLong_FromSsize_t(update.p - base),
                                  PyLong_FromSsize_t(update.end - base));
            if (span == NULL || PyList_Append(spans, span) < 0) {
                Py_XDECREF(span);
                goto done;
            }
            Py_DECREF(span);
            continue;
        }
        if (tag >> 3 == WRITE_REQUEST_UPDATES || !skip_value(&r, tag & 7))
            goto give_up;
        memcpy(header + header_len, field, r.p - field);
        header_len += r.p - field;
    }
    PyObject *header_bytes = PyBytes_FromStringAndSize((const char *)header, header_len);
    if (header_bytes != NULL)
        result = Py_BuildValue("(NOn)", header_bytes, spans, (Py_ssize_t)(r.p - base));
    goto done;
give_up:
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(header);
    Py_XDECREF(spans);
    PyBuffer_Release(&buffer);
    return result;
}

/* ---- decode(): one Update into (table id, type, match, priority, timeout_ms, action, echo) -- */

/* The FieldMatch of field `f` (its TableEntry.match tag already read), as MatchTable's value:
 * (v,), (v, all ones), (value, prefix_len), (value, mask), (low, high). NULL with no error set:
 * not in the form the Python codec takes. */
static PyObject *decode_field_match(Reader *fm, const FieldLayout *f)
{
    Reader kind;
    uint64_t id;
    Value a, b;
    if (!expect_byte(fm, 0x08) || !read_varint(fm, &id) || id != f->id
            || !expect_byte(fm, KIND_TAGS[f->kind]) || !read_framed(fm, &kind)
            || fm->p != fm->end)
        return NULL;
    if (!expect_byte(&kind, 0x0a) || !read_value(&kind, &f->w, &a))
        return NULL;
    if (f->kind == EXACT || f->kind == OPTIONAL) {
        if (kind.p != kind.end)
            return NULL;
        PyObject *v = value_to_int(&a);
        if (v == NULL)
            return NULL;
        if (f->full_optional)
            return pair(v, Py_NewRef(f->full));
        PyObject *t = PyTuple_New(1);
        if (t == NULL) {
            Py_DECREF(v);
            return NULL;
        }
        PyTuple_SET_ITEM(t, 0, v);
        return untracked(t);
    }
    if (f->kind == LPM) {
        uint64_t plen;
        if (!expect_byte(&kind, 0x10) || !read_varint(&kind, &plen) || kind.p != kind.end
                || plen < 1 || plen > (uint64_t)f->w.width
                || !low_bits_zero(&a, f->w.width - (int)plen))
            return NULL;
        return pair(value_to_int(&a), PyLong_FromUnsignedLongLong(plen));
    }
    if (!expect_byte(&kind, 0x12) || !read_value(&kind, &f->w, &b) || kind.p != kind.end)
        return NULL;
    if (f->kind == TERNARY ? is_zero(&b) || !inside_mask(&a, &b)
            : compare_values(&a, &b) > 0 || (is_zero(&a) && is_full(&b, &f->w)))
        return NULL;
    return pair(value_to_int(&a), value_to_int(&b));
}

/* The key: a tuple of one value (or None: don't care) per field, in P4Info order. */
static PyObject *decode_match(Reader *te, const TableLayout *layout)
{
    PyObject *match = PyTuple_New(layout->nfields);
    if (match == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < layout->nfields; i++) {
        const FieldLayout *f = &layout->fields[i];
        PyObject *value = NULL;
        Reader fm, look = *te;
        uint64_t id;
        /* this field's FieldMatch comes next, or (not for exact fields) another's */
        if (expect_byte(&look, 0x12) && read_framed(&look, &fm) && expect_byte(&fm, 0x08)
                && read_varint(&fm, &id) && id == f->id) {
            expect_byte(te, 0x12);
            read_framed(te, &fm);
            value = decode_field_match(&fm, f);
            if (value == NULL)
                goto fail;
        } else if (f->kind == EXACT) {
            goto fail;
        } else {
            value = Py_NewRef(Py_None);
        }
        PyTuple_SET_ITEM(match, i, value);
    }
    return untracked(match);
fail:
    Py_DECREF(match);
    return NULL;
}

/* TableEntry.action: (JSON action id, args), or NULL (no error set) when not decodable. */
static PyObject *decode_action(Reader *te, const TableLayout *layout)
{
    Reader ta, action, param;
    uint64_t id;
    /* TableAction and Action lengths of one byte each, as the Python codec's patterns spell */
    if (!expect_byte(te, 0x1a) || te->p >= te->end || *te->p >= 0x80 || !read_framed(te, &ta)
            || !expect_byte(&ta, 0x0a) || ta.p >= ta.end || *ta.p >= 0x80
            || !read_framed(&ta, &action) || ta.p != ta.end
            || !expect_byte(&action, 0x08) || !read_varint(&action, &id))
        return NULL;
    const ActionLayout *a = NULL;
    for (Py_ssize_t i = 0; i < layout->nactions; i++)
        if (layout->actions[i].id == id)
            a = &layout->actions[i];
    if (a == NULL)
        return NULL;
    PyObject *args = PyTuple_New(a->nparams);
    if (args == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < a->nparams; k++) {
        Value v;
        if (!expect_byte(&action, 0x22) || !read_framed(&action, &param)
                || !expect_byte(&param, 0x10) || !read_varint(&param, &id)
                || id != a->params[k].id || !expect_byte(&param, 0x1a)
                || !read_value(&param, &a->params[k].w, &v) || param.p != param.end)
            goto fail;
        PyObject *arg = value_to_int(&v);
        if (arg == NULL)
            goto fail;
        PyTuple_SET_ITEM(args, k, arg);
    }
    if (action.p != action.end)
        goto fail;
    return pair(Py_NewRef(a->json_id), untracked(args));
fail:
    Py_DECREF(args);
    return NULL;
}

/* An optional varint field with tag `tag`, present only with a value other than 0. */
static int optional_varint(Reader *te, unsigned char tag, int *present, uint64_t *value)
{
    *present = 0;
    if (!peek_byte(te, tag))
        return 1;
    te->p++;
    *present = 1;
    return read_varint(te, value) && *value != 0;
}

#define UPDATE_INSERT 1

/* The layout found for the previous Update of a decode() call (a batch mostly writes one
 * table); borrowed from the layouts dict, which nothing changes during the call. */
typedef struct {
    uint64_t table_id;
    PyObject *found;
} LastLayout;

/* One Update: (table id, type, match, priority, timeout_ms, action or None, echo); the table
 * id alone when `layouts` has no entry for it; NULL (no error set) when not decodable. */
static PyObject *decode_update(Reader *u, PyObject *layouts, LastLayout *last)
{
    Reader entity, te, metadata;
    uint64_t type, table_id, priority = 0, metadata_id = 0, timeout_ns = 0;
    int has_priority, has_metadata_id, has_timeout;
    if (!expect_byte(u, 0x08) || u->p >= u->end || *u->p < 1 || *u->p > 3)
        return NULL;
    type = *u->p++;
    if (!expect_byte(u, 0x12) || !read_framed(u, &entity) || u->p != u->end)
        return NULL;
    const unsigned char *echo = entity.p;      /* the Entity's contents: what a Read returns */
    if (!expect_byte(&entity, 0x12) || !read_framed(&entity, &te) || entity.p != entity.end
            || !expect_byte(&te, 0x08) || !read_varint(&te, &table_id))
        return NULL;
    if (last->found == NULL || last->table_id != table_id) {
        PyObject *key = PyLong_FromUnsignedLongLong(table_id);
        if (key == NULL)
            return NULL;
        PyObject *found = PyDict_GetItemWithError(layouts, key);
        if (found == NULL)
            return PyErr_Occurred() ? (Py_DECREF(key), NULL) : key;   /* Python makes one */
        Py_DECREF(key);
        last->table_id = table_id;
        last->found = found;
    }
    if (!PyObject_TypeCheck(last->found, &TableLayoutType))
        return NULL;                            /* a table the Python codecs do not take */
    const TableLayout *layout = (const TableLayout *)last->found;
    PyObject *match = NULL, *action = NULL, *prio = NULL, *timeout = NULL, *item = NULL;
    match = decode_match(&te, layout);
    if (match == NULL)
        goto fail;
    action = peek_byte(&te, 0x1a) ? decode_action(&te, layout) : Py_NewRef(Py_None);
    if (action == NULL)
        goto fail;
    if (!optional_varint(&te, 0x20, &has_priority, &priority)
            || has_priority != layout->needs_priority || priority >= (1ull << 31)
            || !optional_varint(&te, 0x28, &has_metadata_id, &metadata_id)
            || !optional_varint(&te, 0x48, &has_timeout, &timeout_ns)
            || (has_timeout && (!layout->idle_timeout || timeout_ns >= (1ull << 63))))
        goto fail;
    if (expect_byte(&te, 0x5a) && (!read_framed(&te, &metadata) || metadata.p == metadata.end))
        goto fail;
    if (te.p != te.end)
        goto fail;
    prio = has_priority ? PyLong_FromUnsignedLongLong(priority) : Py_NewRef(Py_None);
    timeout = has_timeout ? PyFloat_FromDouble((double)timeout_ns / 1e6) : Py_NewRef(Py_None);
    PyObject *fields[7] = {
        Py_NewRef(layout->table_id_obj), PyLong_FromUnsignedLongLong(type), match, prio,
        timeout, action,
        PyBytes_FromStringAndSize((const char *)echo, entity.end - echo),
    };
    item = PyTuple_New(7);
    for (int i = 0; i < 7; i++) {
        if (item == NULL || fields[i] == NULL) {
            for (int k = 0; k < 7; k++)
                Py_XDECREF(fields[k]);
            Py_XDECREF(item);
            return NULL;
        }
    }
    for (int i = 0; i < 7; i++)
        PyTuple_SET_ITEM(item, i, fields[i]);
    return untracked(item);
fail:
    Py_XDECREF(match);
    Py_XDECREF(action);
    Py_XDECREF(prio);
    Py_XDECREF(timeout);
    return NULL;
}

/* decode(layouts: {table id: TableLayout | None}, data, spans) -> (items, new tables, count)
 * items: per span, the decoded Update or None; new tables: the ids of tables with no entry in
 * `layouts` (their Updates are None: make their layouts and decode again); count: how many
 * items are None. */
static PyObject *decode(PyObject *module, PyObject *args)
{
    PyObject *layouts, *spans, *items = NULL, *missing = NULL, *result = NULL;
    Py_buffer buffer;
    if (!PyArg_ParseTuple(args, "O!y*O!", &PyDict_Type, &layouts, &buffer, &PyList_Type, &spans))
        return NULL;
    const unsigned char *base = buffer.buf;
    Py_ssize_t count = PyList_GET_SIZE(spans), undecoded = 0;
    LastLayout last = {0, NULL};
    items = PyList_New(count);
    missing = PySet_New(NULL);
    if (items == NULL || missing == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t start, end;
        PyObject *span = PyList_GET_ITEM(spans, i);
        if (!PyTuple_Check(span) || PyTuple_GET_SIZE(span) != 2) {
            PyErr_SetString(PyExc_TypeError, "spans are (start, end) pairs");
            goto done;
        }
        start = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 0));
        end = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 1));
        if (PyErr_Occurred())
            goto done;
        if (start < 0 || start > end || end > buffer.len) {
            PyErr_SetString(PyExc_ValueError, "span outside the request");
            goto done;
        }
        Reader u = {base + start, base + end};
        PyObject *item = decode_update(&u, layouts, &last);
        if (item != NULL && PyLong_CheckExact(item)) {
            int added = PySet_Add(missing, item);
            Py_DECREF(item);
            item = NULL;
            if (added < 0)
                goto done;
        }
        if (item == NULL) {
            if (PyErr_Occurred())
                goto done;
            item = Py_NewRef(Py_None);
            undecoded++;
        }
        PyList_SET_ITEM(items, i, item);
    }
    result = Py_BuildValue("(OOn)", items, missing, undecoded);
done:
    Py_XDECREF(items);
    Py_XDECREF(missing);
    PyBuffer_Release(&buffer);
    return result;
}

/* ---- single(): a whole request of one Update, for the Write answered in place ------------- */

/* single(layouts, data) -> (device id, election id (high, low) or None, decoded Update) | None
 * A WriteRequest of exactly one Update that decode() takes, in the default role, with
 * CONTINUE_ON_ERROR and no deprecated role id: device_id, election_id and the Update, each at
 * most once and in that order (as protobuf writes them), and nothing else. None for any other
 * request: the general path reads it, and phrases its errors. */
static PyObject *single(PyObject *module, PyObject *args)
{
    PyObject *layouts, *result = NULL;
    Py_buffer buffer;
    if (!PyArg_ParseTuple(args, "O!y*", &PyDict_Type, &layouts, &buffer))
        return NULL;
    const unsigned char *base = buffer.buf;
    Reader r = {base, base + buffer.len}, election, update;
    uint64_t device_id = 0, high = 0, low = 0;
    int has_election = 0;
    if (expect_byte(&r, 0x08) && !read_varint(&r, &device_id))
        goto decline;
    if (expect_byte(&r, 0x1a)) {
        has_election = 1;
        if (!read_framed(&r, &election)
                || (expect_byte(&election, 0x08) && !read_varint(&election, &high))
                || (expect_byte(&election, 0x10) && !read_varint(&election, &low))
                || election.p != election.end)
            goto decline;
    }
    if (!expect_byte(&r, 0x22) || !read_framed(&r, &update) || r.p != r.end)
        goto decline;
    LastLayout last = {0, NULL};
    PyObject *item = decode_update(&update, layouts, &last);
    if (item == NULL) {
        if (PyErr_Occurred())
            goto done;
        goto decline;
    }
    if (!PyTuple_Check(item)) {         /* a table without a layout yet: Python makes it */
        Py_DECREF(item);
        goto decline;
    }
    PyObject *election_id = has_election ? pair(PyLong_FromUnsignedLongLong(high),
                                                PyLong_FromUnsignedLongLong(low))
                                         : Py_NewRef(Py_None);
    if (election_id == NULL) {
        Py_DECREF(item);
        goto done;
    }
    result = Py_BuildValue("(KNN)", (unsigned long long)device_id, election_id, item);
    goto done;
decline:
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&buffer);
    return result;
}

/* ---- InsertTarget and insert(): MatchTable's INSERT, for exact and single-field lpm tables - */

/* MatchTable's Entry (nic/tables.py): its slots, in the order its __init__ sets them */
static const char *ENTRY_SLOTS[] = {
    "handle", "match", "priority", "action_id", "args", "member_id", "group_id", "timeout_ms",
    "last_hit", "reported_hit", "packets", "bytes", "meter", "is_const", "echo",
};
enum { NSLOTS = sizeof(ENTRY_SLOTS) / sizeof(ENTRY_SLOTS[0]) };

typedef struct {
    PyObject_HEAD
    PyObject *table;        /* the MatchTable, for its _next_handle */
    PyObject *role;         /* str: the table's role */
    int lpm;                /* single-field lpm (else exact) */
    PyObject *by_match;     /* {(match, priority): Entry} */
    PyObject *handles;      /* {handle: Entry} */
    PyObject *index;        /* exact: {key values: Entry}; lpm: {prefix_len: {value: Entry}} */
    Py_ssize_t max_size;
    PyTypeObject *entry_type;
    Py_ssize_t offsets[NSLOTS];
} InsertTarget;

static PyObject *NEXT_HANDLE;   /* "_next_handle", interned */
static PyObject *ZERO, *ONE;

static int target_traverse(InsertTarget *self, visitproc visit, void *arg)
{
    Py_VISIT(self->table);
    Py_VISIT(self->role);
    Py_VISIT(self->by_match);
    Py_VISIT(self->handles);
    Py_VISIT(self->index);
    Py_VISIT(self->entry_type);
    return 0;
}

static int target_clear(InsertTarget *self)
{
    Py_CLEAR(self->table);
    Py_CLEAR(self->role);
    Py_CLEAR(self->by_match);
    Py_CLEAR(self->handles);
    Py_CLEAR(self->index);
    Py_CLEAR(self->entry_type);
    return 0;
}

static void target_dealloc(InsertTarget *self)
{
    PyObject_GC_UnTrack(self);
    target_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Where each slot of `type` lives; 0 unless the type is exactly a __slots__ class with these
 * slots, all plain object slots (so that an Entry is filled in place, as __init__ would). */
static int entry_offsets(PyTypeObject *type, Py_ssize_t *offsets)
{
    if (type->tp_basicsize != (Py_ssize_t)(sizeof(PyObject) + NSLOTS * sizeof(PyObject *))
            || type->tp_itemsize != 0 || type->tp_dictoffset != 0
            || !(type->tp_flags & Py_TPFLAGS_HEAPTYPE))
        return 0;
    for (int i = 0; i < NSLOTS; i++) {
        PyObject *d = PyObject_GetAttrString((PyObject *)type, ENTRY_SLOTS[i]);
        if (d == NULL) {
            PyErr_Clear();
            return 0;
        }
        int plain = Py_IS_TYPE(d, &PyMemberDescr_Type)
                    && ((PyMemberDescrObject *)d)->d_member->type == T_OBJECT_EX
                    && !(((PyMemberDescrObject *)d)->d_member->flags & READONLY);
        offsets[i] = plain ? ((PyMemberDescrObject *)d)->d_member->offset : 0;
        Py_DECREF(d);
        if (!plain)
            return 0;
    }
    return 1;
}

/* InsertTarget(table, role, lpm, by_match, handles, index, max_size, entry_type) */
static PyObject *target_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *table, *role, *by_match, *handles, *index;
    PyTypeObject *entry_type;
    int lpm;
    Py_ssize_t max_size;
    if (!PyArg_ParseTuple(args, "OUpO!O!O!nO!", &table, &role, &lpm, &PyDict_Type, &by_match,
                          &PyDict_Type, &handles, &PyDict_Type, &index, &max_size,
                          &PyType_Type, &entry_type))
        return NULL;
    InsertTarget *self = (InsertTarget *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    if (!entry_offsets(entry_type, self->offsets)) {
        Py_DECREF(self);
        PyErr_SetString(PyExc_TypeError, "the Entry type is not the one this module fills");
        return NULL;
    }
    self->table = Py_NewRef(table);
    self->role = Py_NewRef(role);
    self->lpm = lpm;
    self->by_match = Py_NewRef(by_match);
    self->handles = Py_NewRef(handles);
    self->index = Py_NewRef(index);
    self->max_size = max_size;
    self->entry_type = (PyTypeObject *)Py_NewRef(entry_type);
    return (PyObject *)self;
}

static PyTypeObject InsertTargetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "p4nic_write_native.InsertTarget",
    .tp_doc = "The containers of one MatchTable that insert() fills as MatchTable._store does.",
    .tp_basicsize = sizeof(InsertTarget),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = target_new,
    .tp_traverse = (traverseproc)target_traverse,
    .tp_clear = (inquiry)target_clear,
    .tp_dealloc = (destructor)target_dealloc,
};

/* Insert one decoded item into `t`: 1 done, 0 not for this path, -1 error. */
static int insert_one(InsertTarget *t, PyObject *item, PyObject *role, PyObject *now)
{
    PyObject *match = PyTuple_GET_ITEM(item, 2), *priority = PyTuple_GET_ITEM(item, 3);
    PyObject *action = PyTuple_GET_ITEM(item, 5);
    if (PyLong_AsLong(PyTuple_GET_ITEM(item, 1)) != UPDATE_INSERT || action == Py_None
            || !PyTuple_Check(action) || PyTuple_GET_SIZE(action) != 2 || !PyTuple_Check(match))
        return PyErr_Occurred() ? -1 : 0;
    if (PyUnicode_GET_LENGTH(role)) {
        int same = PyUnicode_Compare(role, t->role);
        if (same == -1 && PyErr_Occurred())
            return -1;
        if (same != 0)
            return 0;
    }
    if (PyDict_GET_SIZE(t->handles) >= t->max_size)
        return 0;
    PyObject *ident = untracked(PyTuple_Pack(2, match, priority));
    PyObject *key = NULL, *place = NULL, *handle = NULL, *next = NULL, *entry = NULL;
    int result = -1;
    if (ident == NULL)
        return -1;
    int exists = PyDict_Contains(t->by_match, ident);
    if (exists != 0) {
        result = exists < 0 ? -1 : 0;
        goto done;
    }
    if (t->lpm) {                       /* _place: level = _lpm_index[prefix_len] */
        PyObject *mv = PyTuple_GET_SIZE(match) == 1 ? PyTuple_GET_ITEM(match, 0) : NULL;
        if (mv != Py_None && (mv == NULL || !PyTuple_Check(mv) || PyTuple_GET_SIZE(mv) != 2)) {
            result = 0;
            goto done;
        }
        key = Py_NewRef(mv == Py_None ? ZERO : PyTuple_GET_ITEM(mv, 0));
        place = PyDict_GetItemWithError(t->index, mv == Py_None ? ZERO : PyTuple_GET_ITEM(mv, 1));
        if (place == NULL || !PyDict_Check(place)) {
            result = PyErr_Occurred() ? -1 : 0;     /* a new prefix length: Python's */
            goto done;
        }
    } else {                            /* _place: _exact[tuple(mv[0] for mv in match)] */
        key = PyTuple_New(PyTuple_GET_SIZE(match));
        if (key == NULL)
            goto done;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(match); i++) {
            PyObject *mv = PyTuple_GET_ITEM(match, i);
            if (!PyTuple_Check(mv) || PyTuple_GET_SIZE(mv) < 1) {
                result = 0;
                goto done;
            }
            PyTuple_SET_ITEM(key, i, Py_NewRef(PyTuple_GET_ITEM(mv, 0)));
        }
        untracked(key);
        place = t->index;
    }
    handle = PyObject_GetAttr(t->table, NEXT_HANDLE);
    if (handle == NULL)
        goto done;
    if (!PyLong_CheckExact(handle)) {
        result = 0;
        goto done;
    }
    next = PyNumber_Add(handle, ONE);
    if (next == NULL)
        goto done;
    PyObject *values[NSLOTS] = {
        handle, match, priority, PyTuple_GET_ITEM(action, 0), PyTuple_GET_ITEM(action, 1),
        Py_None, Py_None, PyTuple_GET_ITEM(item, 4), now, Py_None, ZERO,
        ZERO, Py_None, Py_False, PyTuple_GET_ITEM(item, 6),
    };
    entry = t->entry_type->tp_alloc(t->entry_type, 0);
    if (entry == NULL)
        goto done;
    for (int i = 0; i < NSLOTS; i++)
        *(PyObject **)((char *)entry + t->offsets[i]) = Py_NewRef(values[i]);
    /* Its slots hold ints, floats, bytes, None and untracked tuples of ints: it cannot be part
     * of a reference cycle, so the collector need not walk it (as it untracks such tuples).
     * Big tables would otherwise make every full collection walk each entry. Entry has no
     * finalizer, so its deallocation never tracks it again. */
    PyObject_GC_UnTrack(entry);
    /* in _store's order: _place, _handles, _by_match; then the handle moves on */
    if (PyDict_SetItem(place, key, entry) < 0 || PyDict_SetItem(t->handles, handle, entry) < 0
            || PyDict_SetItem(t->by_match, ident, entry) < 0
            || PyObject_SetAttr(t->table, NEXT_HANDLE, next) < 0)
        goto done;
    result = 1;
done:
    Py_XDECREF(ident);
    Py_XDECREF(key);
    Py_XDECREF(handle);
    Py_XDECREF(next);
    Py_XDECREF(entry);
    return result;
}

/* insert(targets: {table id: InsertTarget}, items, start, stop, role, now, errors) -> index
 * Inserts items[start:stop] while it can, appending None (success) to `errors` for each. */
static PyObject *insert(PyObject *module, PyObject *args)
{
    PyObject *targets, *items, *role, *now, *errors;
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "O!O!nnUOO!", &PyDict_Type, &targets, &PyList_Type, &items,
                          &start, &stop, &role, &now, &PyList_Type, &errors))
        return NULL;
    if (stop > PyList_GET_SIZE(items))
        stop = PyList_GET_SIZE(items);
    Py_ssize_t i = start < 0 ? 0 : start;
    for (; i < stop; i++) {
        PyObject *item = PyList_GET_ITEM(items, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 7)
            break;
        PyObject *target = PyDict_GetItemWithError(targets, PyTuple_GET_ITEM(item, 0));
        if (target == NULL) {
            if (PyErr_Occurred())
                return NULL;
            break;
        }
        if (!PyObject_TypeCheck(target, &InsertTargetType))
            break;
        int done = insert_one((InsertTarget *)target, item, role, now);
        if (done < 0)
            return NULL;
        if (done == 0 || PyList_Append(errors, Py_None) < 0)
            break;
    }
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromSsize_t(i);
}

/* ---- the module -------------------------------------------------------------------------- */

static PyObject *entry_slots(PyObject *module, PyObject *unused)
{
    PyObject *slots = PyTuple_New(NSLOTS);
    for (int i = 0; slots != NULL && i < NSLOTS; i++) {
        PyObject *name = PyUnicode_FromString(ENTRY_SLOTS[i]);
        if (name == NULL) {
            Py_CLEAR(slots);
            break;
        }
        PyTuple_SET_ITEM(slots, i, name);
    }
    return slots;
}

static PyMethodDef METHODS[] = {
    {"split", split, METH_VARARGS,
     "split(WriteRequest bytes, start=0, limit=no limit) -> (the fields other than updates, "
     "[(start, end)] of each Update, where it stopped) from `start` on, stopping after `limit` "
     "Updates; None when its framing is not plain"},
    {"decode", decode, METH_VARARGS,
     "decode(layouts, data, spans) -> ([per Update: (table id, type, match, priority, "
     "timeout_ms, action, echo) or None], {ids of tables without layout}, count of None)"},
    {"single", single, METH_VARARGS,
     "single(layouts, data) -> (device id, election id or None, decoded Update) for a "
     "WriteRequest of one Update in the default role with CONTINUE_ON_ERROR, else None"},
    {"insert", insert, METH_VARARGS,
     "insert(targets, items, start, stop, role, now, errors) -> the index of the first item "
     "not inserted"},
    {"entry_slots", entry_slots, METH_NOARGS, "the Entry slots insert() fills, in order"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_p4nic_write_native",
    "The native half of the P4Runtime Write hot path (see native_writes.py).", -1, METHODS,
};

PyMODINIT_FUNC PyInit__p4nic_write_native(void)
{
    if (PyType_Ready(&TableLayoutType) < 0 || PyType_Ready(&InsertTargetType) < 0)
        return NULL;
    NEXT_HANDLE = PyUnicode_InternFromString("_next_handle");
    ZERO = PyLong_FromLong(0);
    ONE = PyLong_FromLong(1);
    if (NEXT_HANDLE == NULL || ZERO == NULL || ONE == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&MODULE);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObject(module, "TableLayout", Py_NewRef(&TableLayoutType)) < 0
            || PyModule_AddObject(module, "InsertTarget", Py_NewRef(&InsertTargetType)) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
