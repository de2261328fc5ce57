/*
 * BatchReader: drains a non-blocking fd (a TUN queue with read(2), or a UDP socket with
 * recvmmsg(2)) when libuv's poll says it is readable, up to `batch` packets into preallocated
 * slots, then calls JS once per batch with the count. The buffers are allocated once and exposed
 * as read-only properties; they are overwritten by the next batch, so JS copies what it keeps
 * before returning. Runs on the JS thread (no threadpool), so close() never blocks process exit.
 * A TUN fd with IFF_VNET_HDR (offload, found with TUNGETIFF at construction) is read one
 * virtio_net_hdr + packet (up to 64 KiB) at a time into a private scratch buffer and delivered as
 * ordinary packets (offload.c finishes checksums and splits TCP/IPv4 super-packets), so JS sees
 * the same slots either way. A super-packet whose segments do not fit the rest of a batch stays
 * pending and continues the next batch.
 */
#define _GNU_SOURCE
#include "common.h"
#include "offload.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

typedef struct reader {
  uv_poll_t poll;
  napi_env env;
  napi_ref self;     /* the JS object; strong while started or closing */
  napi_ref callback; /* onBatch(count) */
  napi_async_context async_ctx;
  int fd;
  int family; /* 0 = TUN (read), 4 or 6 = UDP (recvmmsg) */
  uint32_t batch, slot, addr_bytes;
  uint8_t *data;       /* Buffer: batch * slot bytes */
  uint32_t *lengths;   /* Uint32Array(batch) */
  uint8_t *addrs;      /* Uint8Array(batch * addr_bytes), UDP only */
  uint16_t *ports;     /* Uint16Array(batch), UDP only */
  double *counters;    /* Float64Array(RC_COUNT) */
  struct mmsghdr *msgs; /* UDP only, with iov, names and control below */
  struct iovec *iov;
  struct sockaddr_in6 *names;
  uint8_t *control;
  uint8_t *scratch;      /* offload TUN only: PQC_OFFLOAD_SCRATCH bytes */
  pqc_gso_plan pend;     /* the scratch packet being delivered, when pend_next < pend.segs */
  uint32_t pend_next;
  int poll_writable;     /* started with UV_WRITABLE too: a pending rest to deliver at once */
  int started, closing, closed, finalized;
  struct reader *next_live; /* registry of fds with a reader, see claim_fd */
  int live;
} reader;

/*
 * One reader per fd: libuv keeps one watcher per fd, and a second poll on the same fd would
 * silently steal the first one's events. fds are process-wide, so is this registry.
 */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static reader *live_head;

static int claim_fd(reader *r) {
  reader *p;
  pthread_mutex_lock(&live_lock);
  for (p = live_head; p != NULL; p = p->next_live) {
    if (p->fd == r->fd) {
      pthread_mutex_unlock(&live_lock);
      return -1;
    }
  }
  r->next_live = live_head;
  live_head = r;
  r->live = 1;
  pthread_mutex_unlock(&live_lock);
  return 0;
}

static void release_fd(reader *r) {
  reader **pp;
  pthread_mutex_lock(&live_lock);
  if (r->live) {
    for (pp = &live_head; *pp != NULL; pp = &(*pp)->next_live) {
      if (*pp == r) {
        *pp = r->next_live;
        break;
      }
    }
    r->live = 0;
  }
  pthread_mutex_unlock(&live_lock);
}

#define CONTROL_BYTES CMSG_SPACE(sizeof(uint32_t))

static void reader_free(reader *r) {
  release_fd(r);
  free(r->msgs);
  free(r->scratch);
  free(r);
}

static void on_closed(uv_handle_t *h) {
  reader *r = h->data;
  r->closed = 1;
  if (r->finalized) {
    reader_free(r);
    return;
  }
  /* The JS object may be collected now; drop what kept it and its callback alive. */
  if (r->callback) napi_delete_reference(r->env, r->callback);
  r->callback = NULL;
  napi_reference_unref(r->env, r->self, NULL);
}

static void begin_close(reader *r) {
  if (r->closing) return;
  r->closing = 1;
  if (!r->started) napi_reference_ref(r->env, r->self, NULL); /* alive until on_closed */
  r->started = 0;
  uv_poll_stop(&r->poll); /* libuv forgets the fd here: its number may be reused at once */
  release_fd(r);
  uv_close((uv_handle_t *)&r->poll, on_closed);
}

static void note_error(reader *r, int err) {
  r->counters[RC_ERRORS] += 1;
  r->counters[RC_LAST_ERRNO] = err;
}

static uint32_t drain_tun(reader *r) {
  uint32_t n = 0;
  while (n < r->batch) {
    ssize_t got = read(r->fd, r->data + (size_t)n * r->slot, r->slot);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) note_error(r, errno);
      break;
    }
    r->lengths[n++] = (uint32_t)got;
  }
  return n;
}

/* Offload TUN: one read(2) returns a header and one packet, which may become several. Pending
 * segments of the last packet go first; read_more 0 delivers only those. */
static uint32_t drain_tun_offload(reader *r, int read_more) {
  uint32_t n = 0, reads = 0;
  const uint8_t *pkt = r->scratch + PQC_VNET_HDR_LEN;
  while (n < r->batch) {
    if (r->pend_next >= r->pend.segs) {
      pqc_vnet_hdr h;
      ssize_t got;
      if (!read_more || reads++ >= r->batch) break; /* bounded, even when every read is dropped */
      got = read(r->fd, r->scratch, PQC_OFFLOAD_SCRATCH);
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) note_error(r, errno);
        break;
      }
      if ((size_t)got < PQC_VNET_HDR_LEN) {
        note_error(r, EPROTO);
        continue;
      }
      if ((size_t)got - PQC_VNET_HDR_LEN > PQC_OFFLOAD_MAX_PACKET) {
        r->counters[RC_TRUNCATED] += 1;
        continue;
      }
      pqc_vnet_hdr_read(r->scratch, &h);
      if (pqc_gso_plan_make(&h, pkt, (uint32_t)(got - PQC_VNET_HDR_LEN), r->slot, &r->pend) != 0) {
        r->pend.segs = 0;
        note_error(r, EPROTO);
        continue;
      }
      r->pend_next = 0;
      if (r->pend.segs > 1) {
        r->counters[RC_GSO_PACKETS] += 1;
        r->counters[RC_GSO_SEGMENTS] += r->pend.segs;
      }
    }
    while (n < r->batch && r->pend_next < r->pend.segs) {
      r->lengths[n] = pqc_gso_segment(&r->pend, pkt, r->pend_next++, r->data + (size_t)n * r->slot);
      n++;
    }
  }
  return n;
}

static uint32_t drain_udp(reader *r) {
  uint32_t i;
  int got;
  for (i = 0; i < r->batch; i++) {
    r->msgs[i].msg_hdr.msg_namelen = sizeof r->names[i];
    r->msgs[i].msg_hdr.msg_controllen = CONTROL_BYTES;
    r->msgs[i].msg_hdr.msg_flags = 0;
  }
  do {
    got = recvmmsg(r->fd, r->msgs, r->batch, MSG_DONTWAIT, NULL);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) note_error(r, errno);
    return 0;
  }
  for (i = 0; i < (uint32_t)got; i++) {
    struct msghdr *h = &r->msgs[i].msg_hdr;
    struct cmsghdr *c;
    uint8_t *addr = r->addrs + (size_t)i * r->addr_bytes;
    r->lengths[i] = r->msgs[i].msg_len;
    if (h->msg_flags & MSG_TRUNC) r->counters[RC_TRUNCATED] += 1;
    if (r->family == 4) {
      struct sockaddr_in *sin = (struct sockaddr_in *)&r->names[i];
      memcpy(addr, &sin->sin_addr, 4);
      r->ports[i] = ntohs(sin->sin_port);
    } else {
      memcpy(addr, &r->names[i].sin6_addr, 16);
      r->ports[i] = ntohs(r->names[i].sin6_port);
    }
    for (c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        uint32_t drops;
        memcpy(&drops, CMSG_DATA(c), sizeof drops);
        if (drops > r->counters[RC_KERNEL_DROPS]) r->counters[RC_KERNEL_DROPS] = drops;
      }
    }
  }
  return (uint32_t)got;
}

/* Hands n packets to onBatch(n). */
static void deliver(reader *r, uint32_t n) {
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_value self, cb, arg, result;
  r->counters[RC_BATCHES] += 1;
  r->counters[RC_PACKETS] += n;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, r->self, &self) == napi_ok && self != NULL &&
      napi_get_reference_value(env, r->callback, &cb) == napi_ok && cb != NULL &&
      napi_create_uint32(env, n, &arg) == napi_ok) {
    /* make_callback runs microtasks afterwards, as for any libuv-driven callback in Node. */
    if (napi_make_callback(env, r->async_ctx, self, cb, 1, &arg, &result) == napi_pending_exception) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
}

static int has_pending(const reader *r) {
  return r->scratch != NULL && r->pend_next < r->pend.segs;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  reader *r = h->data;
  uint32_t n;
  (void)events;
  if (status < 0) {
    note_error(r, -status);
    return;
  }
  if (r->poll_writable && !has_pending(r) && r->started && !r->closing) {
    r->poll_writable = 0; /* back to readable only (the fd is always writable) */
    uv_poll_start(&r->poll, UV_READABLE, on_readable);
  }
  n = r->family != 0 ? drain_udp(r) : r->scratch != NULL ? drain_tun_offload(r, 1) : drain_tun(r);
  if (n == 0) return;
  deliver(r, n);
  /* The rest of a super-packet that did not fit: the fd may have nothing more to read, so no
   * readable event would come for it. Deliver it now, in batches, without reading more (bounded
   * by PQC_GSO_MAX_SEGS segments); stop() or close() in a callback ends this. */
  while (has_pending(r) && r->started && !r->closing) {
    n = drain_tun_offload(r, 0);
    if (n == 0) break;
    deliver(r, n);
  }
}

static void on_finalize(napi_env env, void *data, void *hint) {
  reader *r = data;
  (void)hint;
  r->finalized = 1;
  if (r->async_ctx) napi_async_destroy(env, r->async_ctx);
  r->async_ctx = NULL;
  if (r->callback) napi_delete_reference(env, r->callback);
  r->callback = NULL;
  if (r->self) napi_delete_reference(env, r->self);
  r->self = NULL;
  if (r->closed) {
    reader_free(r);
  } else if (!r->closing) {
    r->closing = 1;
    uv_poll_stop(&r->poll);
    release_fd(r);
    uv_close((uv_handle_t *)&r->poll, on_closed); /* frees r, since finalized */
  }
}

static reader *unwrap(napi_env env, napi_callback_info info) {
  napi_value self;
  reader *r = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, (void **)&r) != napi_ok || r == NULL) {
    pqc_throw_arg(env, "not a BatchReader");
    return NULL;
  }
  return r;
}

/* Create a typed array over a fresh ArrayBuffer and define it as a read-only property. */
static int add_view(napi_env env, napi_value self, const char *name, napi_typedarray_type type,
                    size_t elems, size_t elem_bytes, void **data) {
  napi_value ab, view;
  napi_property_descriptor d;
  if (type == napi_uint8_array && strcmp(name, "buffer") == 0) {
    if (napi_create_buffer(env, elems, data, &view) != napi_ok) return -1;
  } else {
    if (napi_create_arraybuffer(env, elems * elem_bytes, data, &ab) != napi_ok) return -1;
    if (napi_create_typedarray(env, type, elems, ab, 0, &view) != napi_ok) return -1;
  }
  memset(*data, 0, elems * elem_bytes);
  memset(&d, 0, sizeof d);
  d.utf8name = name;
  d.value = view;
  d.attributes = napi_enumerable; /* neither writable nor configurable: C writes into it */
  return napi_define_properties(env, self, 1, &d) == napi_ok ? 0 : -1;
}

/* new BatchReader(fd, family (0 = TUN, 4/6 = UDP), batch, slotBytes, onBatch(count)) */
static napi_value reader_new(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], self, name;
  napi_valuetype t;
  int32_t fd, family;
  uint32_t batch, slot, i;
  reader *r;
  int err;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  if (argc < 5) {
    pqc_throw_arg(env, "new BatchReader(fd, family, batch, slotBytes, onBatch)");
    return NULL;
  }
  PQC_TRY(pqc_arg_int32(env, argv[0], "fd", &fd));
  PQC_TRY(pqc_arg_int32(env, argv[1], "family", &family));
  PQC_TRY(pqc_arg_uint32(env, argv[2], "batch", &batch));
  PQC_TRY(pqc_arg_uint32(env, argv[3], "slotBytes", &slot));
  if (napi_typeof(env, argv[4], &t) != napi_ok || t != napi_function) {
    pqc_throw_arg(env, "onBatch must be a function");
    return NULL;
  }
  if ((family != 0 && family != 4 && family != 6) || batch == 0 || batch > PQC_MAX_BATCH ||
      slot == 0 || slot > 65536) {
    pqc_throw_arg(env, "family must be 0, 4 or 6; batch in [1, 1024]; slotBytes in [1, 65536]");
    return NULL;
  }
  r = calloc(1, sizeof *r);
  if (r == NULL) {
    pqc_throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  r->env = env;
  r->fd = fd;
  r->family = family;
  r->batch = batch;
  r->slot = slot;
  r->addr_bytes = family == 4 ? 4 : 16;
  if (family == 0) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR)) {
      r->scratch = malloc(PQC_OFFLOAD_SCRATCH);
      if (r->scratch == NULL) {
        free(r);
        pqc_throw_errno(env, "malloc", ENOMEM);
        return NULL;
      }
    }
  }
  if (family != 0) {
    size_t per = sizeof(struct mmsghdr) + sizeof(struct iovec) + sizeof(struct sockaddr_in6) + CONTROL_BYTES;
    uint8_t *block = calloc(batch, per);
    if (block == NULL) {
      free(r);
      pqc_throw_errno(env, "calloc", ENOMEM);
      return NULL;
    }
    r->msgs = (struct mmsghdr *)block;
    r->iov = (struct iovec *)(block + batch * sizeof(struct mmsghdr));
    r->names = (struct sockaddr_in6 *)((uint8_t *)r->iov + batch * sizeof(struct iovec));
    r->control = (uint8_t *)r->names + batch * sizeof(struct sockaddr_in6);
  }
  if (add_view(env, self, "buffer", napi_uint8_array, (size_t)batch * slot, 1, (void **)&r->data) ||
      add_view(env, self, "lengths", napi_uint32_array, batch, 4, (void **)&r->lengths) ||
      add_view(env, self, "counters", napi_float64_array, RC_COUNT, 8, (void **)&r->counters) ||
      (family != 0 && (add_view(env, self, "addresses", napi_uint8_array, (size_t)batch * r->addr_bytes, 1,
                                (void **)&r->addrs) ||
                       add_view(env, self, "ports", napi_uint16_array, batch, 2, (void **)&r->ports)))) {
    reader_free(r);
    return NULL;
  }
  for (i = 0; family != 0 && i < batch; i++) {
    r->iov[i].iov_base = r->data + (size_t)i * slot;
    r->iov[i].iov_len = slot;
    r->msgs[i].msg_hdr.msg_name = &r->names[i];
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_control = r->control + (size_t)i * CONTROL_BYTES;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    reader_free(r);
    return NULL;
  }
  if (claim_fd(r) != 0) {
    reader_free(r);
    pqc_throw_errno(env, "BatchReader (fd already has a reader)", EEXIST);
    return NULL;
  }
  err = uv_poll_init(loop, &r->poll, fd);
  if (err != 0) {
    reader_free(r);
    pqc_throw_errno(env, "uv_poll_init", -err);
    return NULL;
  }
  r->poll.data = r;
  /* From here the handle exists: failures go through the finalizer, which closes it. */
  if (napi_wrap(env, self, r, on_finalize, NULL, &r->self) != napi_ok) {
    r->finalized = 1;
    r->closing = 1;
    uv_close((uv_handle_t *)&r->poll, on_closed);
    return NULL;
  }
  if (napi_create_reference(env, argv[4], 1, &r->callback) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, family == 0 ? "pqc:tun-reader" : "pqc:udp-reader", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &r->async_ctx) != napi_ok)
    return NULL;
  return self;
}

/* start(): deliver batches until stop() or close(); keeps the event loop alive unless unref()'d. */
static napi_value reader_start(napi_env env, napi_callback_info info) {
  reader *r = unwrap(env, info);
  int err;
  if (r == NULL) return NULL;
  if (r->closing) {
    pqc_throw_arg(env, "BatchReader is closed");
    return NULL;
  }
  if (r->started) return NULL;
  /* A rest of a super-packet left by stop() in a callback: a TUN fd is always writable, so
   * UV_WRITABLE brings on_readable at once to deliver it. */
  r->poll_writable = has_pending(r);
  err = uv_poll_start(&r->poll, UV_READABLE | (r->poll_writable ? UV_WRITABLE : 0), on_readable);
  if (err != 0) {
    pqc_throw_errno(env, "uv_poll_start", -err);
    return NULL;
  }
  r->started = 1;
  napi_reference_ref(env, r->self, NULL);
  return NULL;
}

static napi_value reader_stop(napi_env env, napi_callback_info info) {
  reader *r = unwrap(env, info);
  if (r == NULL || !r->started || r->closing) return NULL;
  uv_poll_stop(&r->poll);
  r->started = 0;
  napi_reference_unref(env, r->self, NULL);
  return NULL;
}

/* close(): stop and release the poll handle; the fd stays open (close it after this). */
static napi_value reader_close(napi_env env, napi_callback_info info) {
  reader *r = unwrap(env, info);
  if (r != NULL) begin_close(r);
  return NULL;
}

static napi_value reader_ref(napi_env env, napi_callback_info info) {
  reader *r = unwrap(env, info);
  if (r != NULL && !r->closing) uv_ref((uv_handle_t *)&r->poll);
  return NULL;
}

static napi_value reader_unref(napi_env env, napi_callback_info info) {
  reader *r = unwrap(env, info);
  if (r != NULL && !r->closing) uv_unref((uv_handle_t *)&r->poll);
  return NULL;
}

napi_status pqc_init_reader(napi_env env, napi_value exports) {
  napi_value cls, max;
  napi_status s;
  napi_property_descriptor methods[] = {
      {"start", NULL, reader_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, reader_stop, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, reader_close, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, reader_ref, NULL, NULL, NULL, napi_default, NULL},
      {"unref", NULL, reader_unref, NULL, NULL, NULL, napi_default, NULL},
  };
  s = napi_define_class(env, "BatchReader", NAPI_AUTO_LENGTH, reader_new, NULL,
                        sizeof methods / sizeof methods[0], methods, &cls);
  if (s != napi_ok) return s;
  if ((s = napi_set_named_property(env, exports, "BatchReader", cls)) != napi_ok) return s;
  if ((s = napi_create_uint32(env, PQC_MAX_BATCH, &max)) != napi_ok) return s;
  return napi_set_named_property(env, exports, "MAX_BATCH", max);
}
