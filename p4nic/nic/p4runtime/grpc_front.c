/* The P4Runtime server's native gRPC front end: gRPC's C core, as the system installs it
 * (Debian's libgrpc-dev), driven by rpc.py's serving thread through a completion queue.
 *
 * grpcio's Cython layer builds several Python objects for every event and operation; on a
 * one-update Write that costs about as much as the Write itself. This module does the same job
 * with one tuple per event: Server.poll() returns (tag, success, value), where value is the new
 * Call of a requested call, or the message a batch received (else None). A batch is a tuple of
 * operations, each a tuple whose first item says which (see OP_* below). A method registered
 * before the start has its calls' request read ahead: such a call comes out of poll() with it
 * in Call.request, and needs no batch of its own to receive it. Such a method may also have a
 * handler that answers its calls in place, inside poll(): a one-update Write (rpc.py) then
 * never leaves C but for the handler itself, neither as an event nor as a batch of operations.
 * Plaintext or TLS (PEM credentials given to add_port). Compiled at first use (p4nic.native)
 * against `pkg-config grpc`.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

enum { OP_SEND_INITIAL = 0, OP_SEND_MESSAGE = 1, OP_SEND_STATUS = 2, OP_RECEIVE = 3,
       OP_CLOSE = 4 };
enum { MAX_OPS = 6, MAX_METHODS = 16 };

/* What a completion-queue tag points at: one of four kinds, each owning its Python tag but an
 * answer (a call answered in place), whose completion poll() keeps to itself. */
enum { KIND_REQUEST, KIND_BATCH, KIND_SHUTDOWN, KIND_ANSWER };

typedef struct {
    int kind;
    PyObject *tag;
} Pending;

typedef struct {
    Pending head;
    grpc_call *call;
    grpc_call_details details;      /* a call of any method */
    grpc_metadata_array metadata;
    PyObject *method;               /* else: a call of this registered method */
    int index;                      /* its handle */
    gpr_timespec deadline;
    grpc_byte_buffer *request;
} RequestPending;

typedef struct {
    Pending head;
    PyObject *call;                 /* the Call, alive until its batch completes */
    grpc_op ops[MAX_OPS];
    size_t count;
    grpc_byte_buffer *sent;         /* the message sent, if any */
    grpc_byte_buffer *received;     /* where a receive puts the message */
    int receives;
    int cancelled;
    grpc_slice details;             /* status details, when a status is sent */
    int has_details;
    grpc_metadata *trailing;
    size_t trailing_count;
    grpc_call *answered;            /* KIND_ANSWER: the call answered, unref'd at the end */
} BatchPending;

typedef struct {
    PyObject_HEAD
    grpc_server *server;
    grpc_completion_queue *queue;
    int initialized;                /* grpc_init() done: undone when the object goes */
    int started;
    int shutting_down;
    int shut_down;                  /* the shutdown's tag came out of the queue */
    void *methods[MAX_METHODS];     /* registered methods, by the handle register() gave */
    PyObject *method_names[MAX_METHODS];
    PyObject *in_place[MAX_METHODS];   /* answer_in_place handlers, by handle, or NULL */
    int method_count;
} ServerObject;

typedef struct {
    PyObject_HEAD
    grpc_call *call;
    PyObject *method;
    PyObject *request;              /* read ahead (registered methods), else None */
    PyObject *server;               /* keeps gRPC initialized while the call is referenced */
} CallObject;

static PyTypeObject CallType;

/* -- helpers ----------------------------------------------------------------------------- */

static PyObject *slice_bytes(grpc_slice slice) {
    return PyBytes_FromStringAndSize((const char *)GRPC_SLICE_START_PTR(slice),
                                     (Py_ssize_t)GRPC_SLICE_LENGTH(slice));
}

/* The message in `buffer` as bytes (decompressed, as grpc's reader gives it), copied once. */
static PyObject *buffer_bytes(grpc_byte_buffer *buffer) {
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, buffer)) {
        PyErr_SetString(PyExc_RuntimeError, "cannot read a received message");
        return NULL;
    }
    PyObject *data = PyBytes_FromStringAndSize(
        NULL, (Py_ssize_t)grpc_byte_buffer_length(reader.buffer_out));
    if (data != NULL) {
        char *out = PyBytes_AS_STRING(data);
        grpc_slice slice;
        while (grpc_byte_buffer_reader_next(&reader, &slice)) {
            memcpy(out, GRPC_SLICE_START_PTR(slice), GRPC_SLICE_LENGTH(slice));
            out += GRPC_SLICE_LENGTH(slice);
            grpc_slice_unref(slice);
        }
    }
    grpc_byte_buffer_reader_destroy(&reader);
    return data;
}

static grpc_slice bytes_slice(PyObject *value, int *ok) {
    char *data;
    Py_ssize_t size;
    if (PyUnicode_Check(value)) {
        data = (char *)PyUnicode_AsUTF8AndSize(value, &size);
        if (data == NULL) { *ok = 0; return grpc_empty_slice(); }
    } else if (PyBytes_AsStringAndSize(value, &data, &size) < 0) {
        *ok = 0;
        return grpc_empty_slice();
    }
    return grpc_slice_from_copied_buffer(data, (size_t)size);
}

static void batch_free(BatchPending *batch) {
    if (batch->sent) grpc_byte_buffer_destroy(batch->sent);
    if (batch->received) grpc_byte_buffer_destroy(batch->received);
    if (batch->has_details) grpc_slice_unref(batch->details);
    for (size_t i = 0; i < batch->trailing_count; i++) {
        grpc_slice_unref(batch->trailing[i].key);
        grpc_slice_unref(batch->trailing[i].value);
    }
    PyMem_Free(batch->trailing);
    Py_XDECREF(batch->call);
    Py_XDECREF(batch->head.tag);
    if (batch->answered) grpc_call_unref(batch->answered);
    PyMem_Free(batch);
}

/* Fill `op` from the Python operation `item`; 0 with an exception set when it is not one. */
static int batch_op(BatchPending *batch, PyObject *item) {
    grpc_op *op = &batch->ops[batch->count];
    memset(op, 0, sizeof *op);
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) < 1) {
        PyErr_SetString(PyExc_TypeError, "an operation is a tuple (kind, ...)");
        return 0;
    }
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(item, 0));
    Py_ssize_t size = PyTuple_GET_SIZE(item);
    int ok = 1;
    switch (kind) {
    case OP_SEND_INITIAL:
        op->op = GRPC_OP_SEND_INITIAL_METADATA;
        break;
    case OP_SEND_MESSAGE: {
        if (size != 2 || batch->sent) goto bad;
        grpc_slice slice = bytes_slice(PyTuple_GET_ITEM(item, 1), &ok);
        if (!ok) return 0;
        batch->sent = grpc_raw_byte_buffer_create(&slice, 1);
        grpc_slice_unref(slice);
        op->op = GRPC_OP_SEND_MESSAGE;
        op->data.send_message.send_message = batch->sent;
        break;
    }
    case OP_SEND_STATUS: {
        if (size != 4 || batch->has_details) goto bad;
        long code = PyLong_AsLong(PyTuple_GET_ITEM(item, 1));
        if (code == -1 && PyErr_Occurred()) return 0;
        batch->details = bytes_slice(PyTuple_GET_ITEM(item, 2), &ok);
        if (!ok) return 0;
        batch->has_details = 1;
        PyObject *trailing = PyTuple_GET_ITEM(item, 3);
        if (trailing != Py_None) {
            if (!PyTuple_Check(trailing)) goto bad;
            Py_ssize_t n = PyTuple_GET_SIZE(trailing);
            batch->trailing = PyMem_Calloc((size_t)(n ? n : 1), sizeof(grpc_metadata));
            if (batch->trailing == NULL) { PyErr_NoMemory(); return 0; }
            for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *pair = PyTuple_GET_ITEM(trailing, i);
                if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) goto bad;
                grpc_metadata *entry = &batch->trailing[batch->trailing_count];
                entry->key = bytes_slice(PyTuple_GET_ITEM(pair, 0), &ok);
                if (!ok) return 0;
                entry->value = bytes_slice(PyTuple_GET_ITEM(pair, 1), &ok);
                if (!ok) { grpc_slice_unref(entry->key); return 0; }
                batch->trailing_count++;
            }
        }
        op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        op->data.send_status_from_server.status = (grpc_status_code)code;
        op->data.send_status_from_server.status_details = &batch->details;
        op->data.send_status_from_server.trailing_metadata_count = batch->trailing_count;
        op->data.send_status_from_server.trailing_metadata = batch->trailing;
        break;
    }
    case OP_RECEIVE:
        if (batch->receives) goto bad;
        batch->receives = 1;
        op->op = GRPC_OP_RECV_MESSAGE;
        op->data.recv_message.recv_message = &batch->received;
        break;
    case OP_CLOSE:
        op->op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        op->data.recv_close_on_server.cancelled = &batch->cancelled;
        break;
    default:
        goto bad;
    }
    if (PyErr_Occurred()) return 0;
    batch->count++;
    return 1;
bad:
    if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "malformed operation of kind %ld", kind);
    return 0;
}

/* -- Call -------------------------------------------------------------------------------- */

static void call_dealloc(CallObject *self) {
    if (self->call) grpc_call_unref(self->call);
    Py_XDECREF(self->method);
    Py_XDECREF(self->request);
    Py_XDECREF(self->server);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *call_peer(CallObject *self, PyObject *unused) {
    char *peer = grpc_call_get_peer(self->call);
    PyObject *result = PyBytes_FromString(peer ? peer : "");
    gpr_free(peer);
    return result;
}

/* A pending batch of `kind` holding the Python operations `operations` (a tuple); NULL with an
 * exception set when they are not operations. */
static BatchPending *batch_new(int kind, PyObject *operations) {
    if (!PyTuple_Check(operations)) {
        PyErr_SetString(PyExc_TypeError, "a batch is a tuple of operations");
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(operations);
    if (count > MAX_OPS) {
        PyErr_SetString(PyExc_ValueError, "too many operations in one batch");
        return NULL;
    }
    BatchPending *batch = PyMem_Calloc(1, sizeof *batch);
    if (batch == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    batch->head.kind = kind;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!batch_op(batch, PyTuple_GET_ITEM(operations, i))) {
            batch_free(batch);
            return NULL;
        }
    }
    return batch;
}

/* Start `batch` on `call`, without the GIL; 0 (the batch freed) when gRPC refuses it. */
static int batch_start(grpc_call *call, BatchPending *batch) {
    grpc_call_error error;
    Py_BEGIN_ALLOW_THREADS
    error = grpc_call_start_batch(call, batch->ops, batch->count, batch, NULL);
    Py_END_ALLOW_THREADS
    if (error != GRPC_CALL_OK) {
        batch_free(batch);
        return 0;
    }
    return 1;
}

/* start_batch(operations, tag) -> bool: False when gRPC refuses the batch. */
static PyObject *call_start_batch(CallObject *self, PyObject *args) {
    PyObject *operations, *tag;
    if (!PyArg_ParseTuple(args, "OO", &operations, &tag)) return NULL;
    BatchPending *batch = batch_new(KIND_BATCH, operations);
    if (batch == NULL) return NULL;
    Py_INCREF(tag);
    batch->head.tag = tag;
    Py_INCREF(self);
    batch->call = (PyObject *)self;
    return PyBool_FromLong(batch_start(self->call, batch));
}

static PyMethodDef call_methods[] = {
    {"peer", (PyCFunction)call_peer, METH_NOARGS, "The client's address, as gRPC names it."},
    {"start_batch", (PyCFunction)call_start_batch, METH_VARARGS,
     "start_batch(operations, tag) -> bool: start the operations; (tag, success, message) "
     "comes out of Server.poll() when they complete."},
    {NULL}
};

static PyObject *call_method(CallObject *self, void *unused) {
    Py_INCREF(self->method);
    return self->method;
}

static PyObject *call_request(CallObject *self, void *unused) {
    Py_INCREF(self->request);
    return self->request;
}

static PyGetSetDef call_getset[] = {
    {"method", (getter)call_method, NULL, "The call's method path, bytes.", NULL},
    {"request", (getter)call_request, NULL,
     "The request read ahead (a registered method's call; None when the client sent none), "
     "else None.", NULL},
    {NULL}
};

static PyTypeObject CallType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_p4nic_grpc_front.Call",
    .tp_basicsize = sizeof(CallObject),
    .tp_dealloc = (destructor)call_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A call the server took; made by Server.poll().",
    .tp_methods = call_methods,
    .tp_getset = call_getset,
};

/* -- Server ------------------------------------------------------------------------------ */

/* The server's channel arguments from ((key, int or str), ...). */
static int channel_args(PyObject *options, grpc_channel_args *args) {
    Py_ssize_t n = PyTuple_GET_SIZE(options);
    args->num_args = (size_t)n;
    args->args = PyMem_Calloc((size_t)(n ? n : 1), sizeof(grpc_arg));
    if (args->args == NULL) { PyErr_NoMemory(); return 0; }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyTuple_GET_ITEM(options, i);
        const char *key;
        PyObject *value;
        if (!PyArg_ParseTuple(pair, "sO", &key, &value)) return 0;
        args->args[i].key = (char *)key;          /* alive with `options` */
        if (PyLong_Check(value)) {
            args->args[i].type = GRPC_ARG_INTEGER;
            args->args[i].value.integer = (int)PyLong_AsLong(value);
        } else if (PyUnicode_Check(value)) {
            args->args[i].type = GRPC_ARG_STRING;
            args->args[i].value.string = (char *)PyUnicode_AsUTF8(value);
        } else {
            PyErr_Format(PyExc_TypeError, "option %s: an int or a str", key);
            return 0;
        }
        if (PyErr_Occurred()) return 0;
    }
    return 1;
}

static int server_init(ServerObject *self, PyObject *args, PyObject *kwargs) {
    PyObject *options;
    if (!PyArg_ParseTuple(args, "O!", &PyTuple_Type, &options)) return -1;
    grpc_channel_args channel;
    if (!channel_args(options, &channel)) {
        PyMem_Free(channel.args);
        return -1;
    }
    grpc_init();
    self->initialized = 1;
    self->server = grpc_server_create(&channel, NULL);
    PyMem_Free(channel.args);
    self->queue = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(self->server, self->queue, NULL);
    return 0;
}

/* Release whatever a tag that will never come out of poll() holds (the queue's drain). */
static void pending_free(Pending *pending) {
    if (pending->kind == KIND_BATCH || pending->kind == KIND_ANSWER) {
        batch_free((BatchPending *)pending);
        return;
    }
    if (pending->kind == KIND_REQUEST) {
        RequestPending *request = (RequestPending *)pending;
        if (request->call) grpc_call_unref(request->call);
        if (request->method == NULL) grpc_call_details_destroy(&request->details);
        grpc_metadata_array_destroy(&request->metadata);
        if (request->request) grpc_byte_buffer_destroy(request->request);
        Py_XDECREF(request->method);
    }
    Py_XDECREF(pending->tag);
    PyMem_Free(pending);
}

/* The next event of the queue, waiting without the GIL. */
static grpc_event next_event(grpc_completion_queue *queue, gpr_timespec deadline) {
    grpc_event event;
    Py_BEGIN_ALLOW_THREADS
    event = grpc_completion_queue_next(queue, deadline, NULL);
    Py_END_ALLOW_THREADS
    return event;
}

/* Shut the server down (when nobody did), destroy it, and drain and destroy its queue; what
 * the drained tags held is released. With the GIL. */
static int server_release(ServerObject *self) {
    if (self->server == NULL) return 0;
    if (self->started && !self->shut_down) {
        if (!self->shutting_down) {
            Pending *pending = PyMem_Calloc(1, sizeof *pending);
            if (pending == NULL) { PyErr_NoMemory(); return -1; }
            pending->kind = KIND_SHUTDOWN;
            self->shutting_down = 1;
            grpc_server_shutdown_and_notify(self->server, self->queue, pending);
        }
        Py_BEGIN_ALLOW_THREADS
        grpc_server_cancel_all_calls(self->server);
        Py_END_ALLOW_THREADS
        while (!self->shut_down) {
            grpc_event event = next_event(self->queue, gpr_inf_future(GPR_CLOCK_REALTIME));
            if (event.type != GRPC_OP_COMPLETE) continue;
            if (((Pending *)event.tag)->kind == KIND_SHUTDOWN) self->shut_down = 1;
            pending_free(event.tag);
        }
    }
    Py_BEGIN_ALLOW_THREADS
    grpc_server_destroy(self->server);
    grpc_completion_queue_shutdown(self->queue);
    Py_END_ALLOW_THREADS
    self->server = NULL;
    for (;;) {
        grpc_event event = next_event(self->queue, gpr_inf_future(GPR_CLOCK_REALTIME));
        if (event.type == GRPC_QUEUE_SHUTDOWN) break;
        if (event.type == GRPC_OP_COMPLETE) pending_free(event.tag);
    }
    grpc_completion_queue_destroy(self->queue);
    self->queue = NULL;
    for (int i = 0; i < self->method_count; i++) {
        Py_CLEAR(self->method_names[i]);
        Py_CLEAR(self->in_place[i]);
    }
    return 0;
}

static void server_dealloc(ServerObject *self) {
    server_release(self);
    PyErr_Clear();
    if (self->initialized) grpc_shutdown();
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* add_port(address, tls=None) -> the bound port, 0 when it cannot bind. tls: (key, certificate
 * chain, client CA certificates or None, whether clients must present a certificate from
 * them), PEM bytes, as grpcio's ssl_server_credentials takes them; None: plaintext. */
static PyObject *server_add_port(ServerObject *self, PyObject *args) {
    const char *address;
    PyObject *tls = Py_None;
    if (!PyArg_ParseTuple(args, "s|O", &address, &tls)) return NULL;
    if (self->server == NULL || self->started) {
        PyErr_SetString(PyExc_RuntimeError, "ports are added before the server starts");
        return NULL;
    }
    grpc_server_credentials *credentials;
    if (tls == Py_None) {
        credentials = grpc_insecure_server_credentials_create();
    } else {
        grpc_ssl_pem_key_cert_pair pair;
        PyObject *ca;
        int client_auth;
        if (!PyTuple_Check(tls) || !PyArg_ParseTuple(tls, "yyOp", &pair.private_key,
                                                     &pair.cert_chain, &ca, &client_auth)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "tls: (key, certificate, CA or None, bool)");
            return NULL;
        }
        const char *roots = ca == Py_None ? NULL : PyBytes_AsString(ca);
        if (roots == NULL && ca != Py_None) return NULL;
        credentials = grpc_ssl_server_credentials_create_ex(
            roots, &pair, 1,
            client_auth ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                        : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, NULL);
    }
    int port = grpc_server_add_http2_port(self->server, address, credentials);
    grpc_server_credentials_release(credentials);
    return PyLong_FromLong(port);
}

/* register(method) -> a handle for request_call: the method's calls come with their
 * request read ahead. Before start(). */
static PyObject *server_register(ServerObject *self, PyObject *method) {
    if (!PyBytes_Check(method)) {
        PyErr_SetString(PyExc_TypeError, "a method path is bytes");
        return NULL;
    }
    if (self->server == NULL || self->started || self->method_count == MAX_METHODS) {
        PyErr_SetString(PyExc_RuntimeError, "methods are registered before the start, a few");
        return NULL;
    }
    void *handle = grpc_server_register_method(self->server, PyBytes_AS_STRING(method), NULL,
                                               GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    if (handle == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "gRPC refused to register the method");
        return NULL;
    }
    Py_INCREF(method);
    self->method_names[self->method_count] = method;
    self->methods[self->method_count] = handle;
    return PyLong_FromLong(self->method_count++);
}

static PyObject *server_start(ServerObject *self, PyObject *unused) {
    if (self->server == NULL || self->started) {
        PyErr_SetString(PyExc_RuntimeError, "the server has started already");
        return NULL;
    }
    self->started = 1;
    Py_BEGIN_ALLOW_THREADS
    grpc_server_start(self->server);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* request_call(tag, handle=None): take one more call, of any method (None) or of the method
 * register() gave `handle` for. */
static PyObject *server_request_call(ServerObject *self, PyObject *args) {
    PyObject *tag, *handle = Py_None;
    if (!PyArg_ParseTuple(args, "O|O", &tag, &handle)) return NULL;
    if (self->server == NULL || !self->started || self->shutting_down) {
        PyErr_SetString(PyExc_RuntimeError, "the server is not serving");
        return NULL;
    }
    long index = handle == Py_None ? -1 : PyLong_AsLong(handle);
    if (handle != Py_None && (index < 0 || index >= self->method_count)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "no such registered method");
        return NULL;
    }
    RequestPending *request = PyMem_Calloc(1, sizeof *request);
    if (request == NULL) return PyErr_NoMemory();
    request->head.kind = KIND_REQUEST;
    Py_INCREF(tag);
    request->head.tag = tag;
    grpc_metadata_array_init(&request->metadata);
    grpc_call_error error;
    if (index < 0) {
        grpc_call_details_init(&request->details);
        error = grpc_server_request_call(self->server, &request->call, &request->details,
                                         &request->metadata, self->queue, self->queue, request);
    } else {
        Py_INCREF(self->method_names[index]);
        request->method = self->method_names[index];
        request->index = (int)index;
        error = grpc_server_request_registered_call(
            self->server, self->methods[index], &request->call, &request->deadline,
            &request->metadata, &request->request, self->queue, self->queue, request);
    }
    if (error != GRPC_CALL_OK) {
        pending_free(&request->head);
        PyErr_Format(PyExc_RuntimeError, "gRPC refused to take a call (%d)", (int)error);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The (tag, success, value) of a completed request, taking over what it holds. */
static PyObject *request_done(PyObject *server, RequestPending *request, int success) {
    PyObject *value = Py_None;
    Py_INCREF(value);
    if (success) {
        CallObject *call = PyObject_New(CallObject, &CallType);
        if (call == NULL) { pending_free(&request->head); Py_DECREF(value); return NULL; }
        call->method = NULL;
        call->server = NULL;
        call->request = NULL;
        call->call = request->call;
        request->call = NULL;
        Py_INCREF(server);
        call->server = server;
        if (request->method != NULL) {
            Py_INCREF(request->method);
            call->method = request->method;
            call->request = request->request ? buffer_bytes(request->request) : Py_None;
            if (call->request == Py_None) Py_INCREF(Py_None);
        } else {
            call->method = slice_bytes(request->details.method);
            call->request = Py_None;
            Py_INCREF(Py_None);
        }
        if (call->method == NULL || call->request == NULL) {
            Py_DECREF(call);
            pending_free(&request->head);
            Py_DECREF(value);
            return NULL;
        }
        Py_DECREF(value);
        value = (PyObject *)call;
    }
    PyObject *result = Py_BuildValue("(OON)", request->head.tag, success ? Py_True : Py_False,
                                     value);
    pending_free(&request->head);
    return result;
}

static PyObject *batch_done(BatchPending *batch, int success) {
    PyObject *value = Py_None;
    if (batch->received) {
        value = buffer_bytes(batch->received);
        if (value == NULL) { batch_free(batch); return NULL; }
    } else {
        Py_INCREF(value);
    }
    PyObject *result = Py_BuildValue("(OON)", batch->head.tag, success ? Py_True : Py_False,
                                     value);
    batch_free(batch);
    return result;
}

/* Answer a registered call in place when its method's handler gives the batch to answer with
 * (calls.py's operations): it goes out at once, its completion kept from Python, and the
 * request's tag is asked for the method's next call. 1 when answered (the request then belongs
 * to the next ask), 0 when the call is for Python, -1 with an exception set. */
static int answer_in_place(ServerObject *self, RequestPending *request) {
    PyObject *handler = self->in_place[request->index];
    if (handler == NULL || request->request == NULL || self->shutting_down) return 0;
    PyObject *data = buffer_bytes(request->request);
    if (data == NULL) return -1;
    Py_INCREF(handler);                 /* answer_in_place may replace it while it runs */
    PyObject *operations = PyObject_CallOneArg(handler, data);
    Py_DECREF(handler);
    Py_DECREF(data);
    if (operations == NULL) return -1;
    if (operations == Py_None) { Py_DECREF(operations); return 0; }
    BatchPending *batch = batch_new(KIND_ANSWER, operations);
    Py_DECREF(operations);
    if (batch == NULL) return -1;
    batch->answered = request->call;
    request->call = NULL;
    batch_start(batch->answered, batch);     /* refused: the client sees the call end */
    /* the same ask again, for the method's next call */
    grpc_byte_buffer_destroy(request->request);
    request->request = NULL;
    grpc_metadata_array_destroy(&request->metadata);
    grpc_metadata_array_init(&request->metadata);
    grpc_call_error error = grpc_server_request_registered_call(
        self->server, self->methods[request->index], &request->call, &request->deadline,
        &request->metadata, &request->request, self->queue, self->queue, request);
    return error == GRPC_CALL_OK ? 1 : 0;
}

/* poll() -> (tag, success, value), waiting as long as it takes (no deadline: one costs gRPC a
 * timer per wait, ~30 us of CPU a call). Calls answered in place do not come out. */
static PyObject *server_poll(ServerObject *self, PyObject *unused) {
    if (self->queue == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the server is destroyed");
        return NULL;
    }
    for (;;) {
        grpc_event event = next_event(self->queue, gpr_inf_future(GPR_CLOCK_REALTIME));
        if (event.type != GRPC_OP_COMPLETE) Py_RETURN_NONE;
        Pending *pending = event.tag;
        if (pending->kind == KIND_ANSWER) {
            batch_free((BatchPending *)pending);
            continue;
        }
        if (pending->kind == KIND_REQUEST) {
            RequestPending *request = (RequestPending *)pending;
            if (event.success && request->method != NULL) {
                int answered = answer_in_place(self, request);
                if (answered < 0) PyErr_WriteUnraisable(self->in_place[request->index]);
                if (answered == 1) continue;
                if (request->call == NULL) {         /* answered, but not asked again */
                    PyObject *result = Py_BuildValue("(OOO)", request->head.tag, Py_False,
                                                     Py_None);
                    pending_free(pending);
                    return result;
                }
            }
            return request_done((PyObject *)self, request, event.success);
        }
        if (pending->kind == KIND_BATCH) return batch_done((BatchPending *)pending, event.success);
        self->shut_down = 1;
        PyObject *result = Py_BuildValue("(OOO)", pending->tag, event.success ? Py_True : Py_False,
                                         Py_None);
        pending_free(pending);
        return result;
    }
}

/* answer_in_place(handle, handler): handler(request) of each call of that registered method,
 * on the serving thread: the batch of operations it gives (its answer) starts there and then,
 * and the call does not come out of poll(); None hands the call to poll() as usual. None: no
 * handler. */
static PyObject *server_answer_in_place(ServerObject *self, PyObject *args) {
    long index;
    PyObject *handler;
    if (!PyArg_ParseTuple(args, "lO", &index, &handler)) return NULL;
    if (index < 0 || index >= self->method_count) {
        PyErr_SetString(PyExc_ValueError, "no such registered method");
        return NULL;
    }
    Py_XSETREF(self->in_place[index], handler == Py_None ? NULL : Py_NewRef(handler));
    Py_RETURN_NONE;
}

/* shutdown(tag): take no new calls; (tag, True, None) comes out of poll() once every call has
 * ended (cancel_all_calls ends them now). */
static PyObject *server_shutdown(ServerObject *self, PyObject *tag) {
    if (self->server == NULL || !self->started || self->shutting_down) Py_RETURN_NONE;
    Pending *pending = PyMem_Calloc(1, sizeof *pending);
    if (pending == NULL) return PyErr_NoMemory();
    pending->kind = KIND_SHUTDOWN;
    Py_INCREF(tag);
    pending->tag = tag;
    self->shutting_down = 1;
    grpc_server_shutdown_and_notify(self->server, self->queue, pending);
    Py_RETURN_NONE;
}

static PyObject *server_cancel_all_calls(ServerObject *self, PyObject *unused) {
    if (self->server != NULL && self->shutting_down) {
        Py_BEGIN_ALLOW_THREADS
        grpc_server_cancel_all_calls(self->server);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

static PyObject *server_destroy(ServerObject *self, PyObject *unused) {
    if (server_release(self) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef server_methods[] = {
    {"add_port", (PyCFunction)server_add_port, METH_VARARGS,
     "add_port(address, tls=None) -> the bound port, 0 when it cannot bind; tls: (key, "
     "certificate chain, client CA or None, client certificate required), PEM bytes."},
    {"start", (PyCFunction)server_start, METH_NOARGS, "Start serving."},
    {"register", (PyCFunction)server_register, METH_O,
     "register(method) -> handle: that method's calls come with their request read ahead."},
    {"request_call", (PyCFunction)server_request_call, METH_VARARGS,
     "request_call(tag, handle=None): take one more call, of any method or of a registered "
     "one; (tag, success, Call) comes out of poll()."},
    {"answer_in_place", (PyCFunction)server_answer_in_place, METH_VARARGS,
     "answer_in_place(handle, handler): handler(request) -> the batch of operations answering "
     "the call, started on the serving thread without an event, or None: the call comes out "
     "of poll()."},
    {"poll", (PyCFunction)server_poll, METH_NOARGS,
     "poll() -> (tag, success, value), or None when nothing completed."},
    {"shutdown", (PyCFunction)server_shutdown, METH_O,
     "shutdown(tag): take no new calls; (tag, True, None) once all have ended."},
    {"cancel_all_calls", (PyCFunction)server_cancel_all_calls, METH_NOARGS,
     "End every call still running (after shutdown)."},
    {"destroy", (PyCFunction)server_destroy, METH_NOARGS,
     "Release the server and its queue (after shutdown's tag came out of poll)."},
    {NULL}
};

static PyTypeObject ServerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_p4nic_grpc_front.Server",
    .tp_basicsize = sizeof(ServerObject),
    .tp_dealloc = (destructor)server_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Server(options): a gRPC server with one completion queue, polled by one thread.",
    .tp_methods = server_methods,
    .tp_init = (initproc)server_init,
    .tp_new = PyType_GenericNew,
};

static PyObject *module_version(PyObject *module, PyObject *unused) {
    return PyUnicode_FromString(grpc_version_string());
}

static PyMethodDef module_methods[] = {
    {"version", module_version, METH_NOARGS, "The gRPC core library's version."},
    {NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_p4nic_grpc_front",
    "The P4Runtime server's native gRPC front end (grpc_front.c).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__p4nic_grpc_front(void) {
    if (PyType_Ready(&ServerType) < 0 || PyType_Ready(&CallType) < 0) return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) return NULL;
    Py_INCREF(&ServerType);
    Py_INCREF(&CallType);
    if (PyModule_AddObject(module, "Server", (PyObject *)&ServerType) < 0 ||
        PyModule_AddObject(module, "Call", (PyObject *)&CallType) < 0 ||
        PyModule_AddIntConstant(module, "SEND_INITIAL", OP_SEND_INITIAL) < 0 ||
        PyModule_AddIntConstant(module, "SEND_MESSAGE", OP_SEND_MESSAGE) < 0 ||
        PyModule_AddIntConstant(module, "SEND_STATUS", OP_SEND_STATUS) < 0 ||
        PyModule_AddIntConstant(module, "RECEIVE", OP_RECEIVE) < 0 ||
        PyModule_AddIntConstant(module, "CLOSE", OP_CLOSE) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
