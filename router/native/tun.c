/*
 * TUN device: open /dev/net/tun as IFF_TUN | IFF_NO_PI (raw IP packets, no packet-info header),
 * optionally IFF_MULTI_QUEUE, non-persistent and non-blocking; write one packet per write(2).
 * Reading is the batch reader's job (reader.c). The device disappears when its last fd closes.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* tunOpen(name, multiQueue) -> {fd, name}; name "" lets the kernel pick tunN. */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, v;
  char name[IFNAMSIZ];
  int multi, fd;
  struct ifreq ifr;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  PQC_TRY(pqc_arg_string(env, argc > 0 ? argv[0] : NULL, "name", name, sizeof name));
  PQC_TRY(pqc_arg_bool(env, argc > 1 ? argv[1] : NULL, "multiQueue", &multi));

  fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    pqc_throw_errno(env, "open /dev/net/tun", errno);
    return NULL;
  }
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0);
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int err = errno;
    close(fd);
    pqc_throw_errno(env, "ioctl TUNSETIFF", err);
    return NULL;
  }
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  if (napi_create_object(env, &result) != napi_ok) goto fail;
  if (napi_create_int32(env, fd, &v) != napi_ok || napi_set_named_property(env, result, "fd", v) != napi_ok)
    goto fail;
  if (napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &v) != napi_ok ||
      napi_set_named_property(env, result, "name", v) != napi_ok)
    goto fail;
  return result;
fail:
  close(fd);
  return NULL;
}

/* One packet, one write(2). Returns 1 written, 0 would block, -errno on another error. */
static int write_packet(int fd, const uint8_t *p, uint32_t len) {
  for (;;) {
    ssize_t n = write(fd, p, len);
    if (n >= 0) return 1;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -errno;
  }
}

static int check_range(napi_env env, size_t buf_len, uint32_t off, uint32_t len) {
  if ((uint64_t)off + len <= buf_len) return 0;
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offset + length is beyond the end of the buffer");
  return -1;
}

/* tunWrite(fd, buf, offset, length) -> bytes written, 0 if the queue is full, or -errno. */
static napi_value tun_write(napi_env env, napi_callback_info info) {
  size_t argc = 4, buf_len;
  napi_value argv[4], out;
  int32_t fd;
  uint32_t off, len;
  void *buf;
  int r;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) {
    pqc_throw_arg(env, "tunWrite(fd, buf, offset, length)");
    return NULL;
  }
  PQC_TRY(pqc_arg_int32(env, argv[0], "fd", &fd));
  PQC_TRY(pqc_arg_typed(env, argv[1], "buf", napi_uint8_array, &buf, &buf_len));
  PQC_TRY(pqc_arg_uint32(env, argv[2], "offset", &off));
  PQC_TRY(pqc_arg_uint32(env, argv[3], "length", &len));
  PQC_TRY(check_range(env, buf_len, off, len));
  r = write_packet(fd, (const uint8_t *)buf + off, len);
  napi_create_int32(env, r == 1 ? (int32_t)len : r, &out);
  return out;
}

/*
 * tunWriteBatch(fd, buf, offsets, lengths, count, counters) -> packets consumed.
 * One JS->C crossing per batch, still one write(2) per packet (a TUN fd takes one packet per
 * write). Stops at the first EAGAIN (the rest is the caller's to drop or retry); a packet the
 * kernel refuses (EINVAL for a malformed packet, EIO when the link is down) is counted as failed
 * and skipped. counters: Float64Array of WC_COUNT, accumulated.
 */
static napi_value tun_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6, buf_len, n_off, n_len, n_ctr;
  napi_value argv[6], out;
  int32_t fd;
  uint32_t count, i;
  void *buf, *offs, *lens, *ctrs;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6) {
    pqc_throw_arg(env, "tunWriteBatch(fd, buf, offsets, lengths, count, counters)");
    return NULL;
  }
  PQC_TRY(pqc_arg_int32(env, argv[0], "fd", &fd));
  PQC_TRY(pqc_arg_typed(env, argv[1], "buf", napi_uint8_array, &buf, &buf_len));
  PQC_TRY(pqc_arg_typed(env, argv[2], "offsets", napi_uint32_array, &offs, &n_off));
  PQC_TRY(pqc_arg_typed(env, argv[3], "lengths", napi_uint32_array, &lens, &n_len));
  PQC_TRY(pqc_arg_uint32(env, argv[4], "count", &count));
  PQC_TRY(pqc_arg_typed(env, argv[5], "counters", napi_float64_array, &ctrs, &n_ctr));
  if (count > n_off || count > n_len || n_ctr < WC_COUNT) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "count exceeds offsets/lengths, or counters too short");
    return NULL;
  }
  double *ctr = ctrs;
  const uint32_t *o = offs, *l = lens;
  for (i = 0; i < count; i++) PQC_TRY(check_range(env, buf_len, o[i], l[i]));
  for (i = 0; i < count; i++) {
    int r = write_packet(fd, (const uint8_t *)buf + o[i], l[i]);
    if (r == 1) {
      ctr[WC_SENT] += 1;
    } else if (r == 0) {
      ctr[WC_WOULD_BLOCK] += 1;
      break;
    } else {
      ctr[WC_FAILED] += 1;
      ctr[WC_LAST_ERRNO] = -r;
    }
  }
  napi_create_uint32(env, i, &out);
  return out;
}

napi_status pqc_init_tun(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = pqc_export_fn(env, exports, "tunOpen", tun_open)) != napi_ok) return s;
  if ((s = pqc_export_fn(env, exports, "tunWrite", tun_write)) != napi_ok) return s;
  return pqc_export_fn(env, exports, "tunWriteBatch", tun_write_batch);
}
