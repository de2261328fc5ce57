/*
 * Shared declarations of the pqc data-path addon (router/native/): argument helpers, errno-named
 * JS errors for setup calls, and the layout of the counter arrays the TypeScript side reads.
 * No cryptography lives in this addon (architecture.md section 2, "TUN + batch UDP").
 */
#ifndef PQC_NATIVE_COMMON_H
#define PQC_NATIVE_COMMON_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* Reader counters (Float64Array, accumulated by C, read by JS; see router/native/addon.ts). */
enum {
  RC_BATCHES = 0,
  RC_PACKETS = 1,
  RC_ERRORS = 2,
  RC_TRUNCATED = 3,
  RC_KERNEL_DROPS = 4,
  RC_LAST_ERRNO = 5,
  RC_GSO_PACKETS = 6,  /* TUN offload: super-packets read and split (more than one segment) */
  RC_GSO_SEGMENTS = 7, /* TUN offload: the segments they became */
  RC_COUNT = 8
};

/* Writer counters (Float64Array passed by JS to the batched send/write calls). */
enum {
  WC_SENT = 0,
  WC_FAILED = 1,
  WC_WOULD_BLOCK = 2,
  WC_LAST_ERRNO = 3,
  WC_COUNT = 4
};
/* udpSendBatch also reports, when given this many slots, that the kernel refused UDP GSO (EIO). */
enum {
  WC_UDP_GSO_REFUSED = 4, /* set to 1: stop asking for GSO on this socket */
  WC_UDP_COUNT = 5
};
/* tunWriteBatch on an offload TUN also counts, when given this many slots, its merged writes. */
enum {
  WC_TUN_MERGED_WRITES = 4,  /* GSO writes carrying more than one packet */
  WC_TUN_MERGED_PACKETS = 5, /* the packets they carried (also counted in WC_SENT) */
  WC_TUN_COUNT = 6
};

/* Largest batch one JS call may hand to C, and the largest reader batch (a named bound). */
#define PQC_MAX_BATCH 1024u

/* Throw a JS Error for a failed setup syscall: message "<syscall>: <strerror>", code "EPERM"... */
void pqc_throw_errno(napi_env env, const char *syscall, int err);
/* Throw a TypeError/RangeError with code ERR_INVALID_ARG_VALUE. */
void pqc_throw_arg(napi_env env, const char *message);

/* Argument readers: return 0 on success, -1 with a pending JS exception otherwise. */
int pqc_arg_int32(napi_env env, napi_value v, const char *name, int32_t *out);
int pqc_arg_uint32(napi_env env, napi_value v, const char *name, uint32_t *out);
int pqc_arg_bool(napi_env env, napi_value v, const char *name, int *out);
/* Optional trailing boolean argv[i]: absent or undefined gives 0. */
int pqc_arg_opt_bool(napi_env env, size_t argc, const napi_value *argv, size_t i, const char *name, int *out);
/* A string into a caller buffer (NUL-terminated; too long is an error). */
int pqc_arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t size);
/* A typed array of the given type (Uint8Array covers Buffer); *len is its element count. */
int pqc_arg_typed(napi_env env, napi_value v, const char *name, napi_typedarray_type type,
                  void **data, size_t *len);

/* Register the functions and classes of each part on the module's exports. */
napi_status pqc_init_tun(napi_env env, napi_value exports);
napi_status pqc_init_udp(napi_env env, napi_value exports);
napi_status pqc_init_reader(napi_env env, napi_value exports);
napi_status pqc_init_privsep(napi_env env, napi_value exports);

/* Define one exported function. */
napi_status pqc_export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

/* Bail out of a napi_callback when an argument helper failed (a JS exception is pending). */
#define PQC_TRY(expr) \
  do {                \
    if ((expr) != 0)  \
      return NULL;    \
  } while (0)

#endif
