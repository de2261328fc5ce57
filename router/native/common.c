/*
 * Helpers shared by the addon's parts: JS errors named after errno (so TypeScript can match
 * `error.code === 'EPERM'`), argument validation, and the module entry point. Setup failures throw;
 * the per-packet paths never do (they count into the counter arrays instead).
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

void pqc_throw_errno(napi_env env, const char *syscall, int err) {
  char message[256];
  napi_value msg, code, error, num, sys;
  const char *name = uv_err_name(-err); /* on Unix, libuv codes are negated errno values */
  snprintf(message, sizeof message, "%s: %s (%s)", syscall, strerror(err), name);
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok) return;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok) return;
  if (napi_create_error(env, code, msg, &error) != napi_ok) return;
  if (napi_create_int32(env, -err, &num) == napi_ok) napi_set_named_property(env, error, "errno", num);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys) == napi_ok)
    napi_set_named_property(env, error, "syscall", sys);
  napi_throw(env, error);
}

void pqc_throw_arg(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", message);
}

static int expect_type(napi_env env, napi_value v, napi_valuetype want, const char *name, const char *what) {
  napi_valuetype t;
  char message[160];
  if (napi_typeof(env, v, &t) == napi_ok && t == want) return 0;
  snprintf(message, sizeof message, "%s must be %s", name, what);
  pqc_throw_arg(env, message);
  return -1;
}

int pqc_arg_int32(napi_env env, napi_value v, const char *name, int32_t *out) {
  if (expect_type(env, v, napi_number, name, "a number") != 0) return -1;
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

int pqc_arg_uint32(napi_env env, napi_value v, const char *name, uint32_t *out) {
  double d;
  char message[160];
  if (expect_type(env, v, napi_number, name, "a number") != 0) return -1;
  if (napi_get_value_double(env, v, &d) != napi_ok) return -1;
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
    snprintf(message, sizeof message, "%s must be an integer in [0, 2^32)", name);
    pqc_throw_arg(env, message);
    return -1;
  }
  *out = (uint32_t)d;
  return 0;
}

int pqc_arg_bool(napi_env env, napi_value v, const char *name, int *out) {
  bool b;
  if (expect_type(env, v, napi_boolean, name, "a boolean") != 0) return -1;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return -1;
  *out = b ? 1 : 0;
  return 0;
}

int pqc_arg_opt_bool(napi_env env, size_t argc, const napi_value *argv, size_t i, const char *name, int *out) {
  napi_valuetype t;
  *out = 0;
  if (argc <= i) return 0;
  if (napi_typeof(env, argv[i], &t) != napi_ok) return -1;
  if (t == napi_undefined) return 0;
  return pqc_arg_bool(env, argv[i], name, out);
}

int pqc_arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t size) {
  size_t len;
  char message[160];
  if (expect_type(env, v, napi_string, name, "a string") != 0) return -1;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return -1;
  if (len + 1 > size) {
    snprintf(message, sizeof message, "%s is too long (at most %zu bytes)", name, size - 1);
    pqc_throw_arg(env, message);
    return -1;
  }
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok ? 0 : -1;
}

int pqc_arg_typed(napi_env env, napi_value v, const char *name, napi_typedarray_type type,
                  void **data, size_t *len) {
  bool is_typed = false;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  char message[160];
  if (napi_is_typedarray(env, v, &is_typed) == napi_ok && is_typed &&
      napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) == napi_ok && t == type) {
    return 0;
  }
  snprintf(message, sizeof message, "%s has the wrong type (expected a %s)", name,
           type == napi_uint8_array ? "Uint8Array or Buffer"
           : type == napi_uint16_array ? "Uint16Array"
           : type == napi_uint32_array ? "Uint32Array"
           : type == napi_float64_array ? "Float64Array" : "typed array");
  pqc_throw_arg(env, message);
  return -1;
}

napi_status pqc_export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_status s = napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, name, fn);
}

/* closeFd(fd): close a descriptor opened by tunOpen/udpOpen. Close readers on it first. */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  PQC_TRY(pqc_arg_int32(env, argc > 0 ? argv[0] : NULL, "fd", &fd));
  if (close(fd) != 0 && errno != EINTR) pqc_throw_errno(env, "close", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  if (pqc_export_fn(env, exports, "closeFd", close_fd) != napi_ok) return NULL;
  if (pqc_init_tun(env, exports) != napi_ok) return NULL;
  if (pqc_init_udp(env, exports) != napi_ok) return NULL;
  if (pqc_init_reader(env, exports) != napi_ok) return NULL;
  if (pqc_init_privsep(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
