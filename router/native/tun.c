/*
 * TUN device: open /dev/net/tun as IFF_TUN | IFF_NO_PI (raw IP packets, no packet-info header),
 * optionally IFF_MULTI_QUEUE, non-persistent and non-blocking; write one packet per write(2).
 * With offload (IFF_VNET_HDR + TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4) every read and write
 * carries a virtio_net_hdr: writes put a zero header in front, and a batch write merges same-flow
 * TCP/IPv4 segments into one GSO write (offload.c decides). IFF_VNET_HDR is a flag of the device,
 * not of the fd: all queues of a multi-queue device must agree. Reading is the batch reader's job
 * (reader.c). The device disappears when its last fd closes.
 */
#include "common.h"
#include "offload.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

/* TUNSETIFF on a fresh /dev/net/tun fd; returns the fd or -errno. */
static int open_tun(const char *name, int multi, int vnet, char *out_name, const char **step) {
  struct ifreq ifr;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  *step = "open /dev/net/tun";
  if (fd < 0) return -errno;
  *step = "ioctl TUNSETIFF";
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0) | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
  out_name[IFNAMSIZ - 1] = '\0';
  return fd;
}

/* Header size and offloads on an IFF_VNET_HDR fd: checksum and TCP/IPv4 segmentation only. */
static int enable_offload(int fd) {
  int size = PQC_VNET_HDR_LEN;
  if (ioctl(fd, TUNSETVNETHDRSZ, &size) != 0) return -1;
  return ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4));
}

/*
 * tunOpen(name, multiQueue, offload = false) -> {fd, name, offload}; name "" lets the kernel pick
 * tunN. When the kernel refuses the offloads, the device is reopened without them (offload false).
 */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result, v;
  char name[IFNAMSIZ], got[IFNAMSIZ];
  const char *step;
  int multi, offload, fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  PQC_TRY(pqc_arg_string(env, argc > 0 ? argv[0] : NULL, "name", name, sizeof name));
  PQC_TRY(pqc_arg_bool(env, argc > 1 ? argv[1] : NULL, "multiQueue", &multi));
  PQC_TRY(pqc_arg_opt_bool(env, argc, argv, 2, "offload", &offload));
  fd = open_tun(name, multi, offload, got, &step);
  if (fd >= 0 && offload && enable_offload(fd) != 0) {
    /* Fall back: a fresh non-offload device (nothing is configured on it yet). */
    close(fd);
    offload = 0;
    fd = open_tun(name, multi, 0, got, &step);
  }
  if (fd < 0) {
    pqc_throw_errno(env, step, -fd);
    return NULL;
  }
  if (napi_create_object(env, &result) != napi_ok) goto fail;
  if (napi_create_int32(env, fd, &v) != napi_ok || napi_set_named_property(env, result, "fd", v) != napi_ok)
    goto fail;
  if (napi_create_string_utf8(env, got, NAPI_AUTO_LENGTH, &v) != napi_ok ||
      napi_set_named_property(env, result, "name", v) != napi_ok)
    goto fail;
  if (napi_get_boolean(env, offload != 0, &v) != napi_ok || napi_set_named_property(env, result, "offload", v) != napi_ok)
    goto fail;
  return result;
fail:
  close(fd);
  return NULL;
}

/* tunOffload(fd) -> whether the device sends and expects virtio_net_hdr (IFF_VNET_HDR). */
static napi_value tun_offload(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t fd;
  struct ifreq ifr;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  PQC_TRY(pqc_arg_int32(env, argc > 0 ? argv[0] : NULL, "fd", &fd));
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) != 0) {
    pqc_throw_errno(env, "ioctl TUNGETIFF", errno);
    return NULL;
  }
  napi_get_boolean(env, (ifr.ifr_flags & IFF_VNET_HDR) != 0, &out);
  return out;
}

/* One packet (or one GSO write), one writev(2). Returns 1 written, 0 would block, -errno. */
static int write_iov(int fd, const struct iovec *iov, int n_iov) {
  for (;;) {
    ssize_t n = writev(fd, iov, n_iov);
    if (n >= 0) return 1;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -errno;
  }
}

static const uint8_t zero_vnet[PQC_VNET_HDR_LEN];

/* One ordinary packet; on an offload fd behind a zero header (no GSO, checksums complete). */
static int write_packet(int fd, int offload, const uint8_t *p, uint32_t len) {
  struct iovec iov[2];
  iov[0].iov_base = (void *)zero_vnet;
  iov[0].iov_len = PQC_VNET_HDR_LEN;
  iov[1].iov_base = (void *)p;
  iov[1].iov_len = len;
  return offload ? write_iov(fd, iov, 2) : write_iov(fd, iov + 1, 1);
}

static int check_range(napi_env env, size_t buf_len, uint32_t off, uint32_t len) {
  if ((uint64_t)off + len <= buf_len) return 0;
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offset + length is beyond the end of the buffer");
  return -1;
}

/* tunWrite(fd, buf, offset, length, offload = false) -> bytes written, 0 if the queue is full,
 * or -errno. offload: the fd is IFF_VNET_HDR (tunOpen's / tunOffload's answer). */
static napi_value tun_write(napi_env env, napi_callback_info info) {
  size_t argc = 5, buf_len;
  napi_value argv[5], out;
  int32_t fd;
  uint32_t off, len;
  void *buf;
  int r, offload;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) {
    pqc_throw_arg(env, "tunWrite(fd, buf, offset, length)");
    return NULL;
  }
  PQC_TRY(pqc_arg_int32(env, argv[0], "fd", &fd));
  PQC_TRY(pqc_arg_typed(env, argv[1], "buf", napi_uint8_array, &buf, &buf_len));
  PQC_TRY(pqc_arg_uint32(env, argv[2], "offset", &off));
  PQC_TRY(pqc_arg_uint32(env, argv[3], "length", &len));
  PQC_TRY(pqc_arg_opt_bool(env, argc, argv, 4, "offload", &offload));
  PQC_TRY(check_range(env, buf_len, off, len));
  r = write_packet(fd, offload, (const uint8_t *)buf + off, len);
  napi_create_int32(env, r == 1 ? (int32_t)len : r, &out);
  return out;
}

/* One group of a batch on an offload fd: a zero header and the packet, or a GSO write of
 * group->count merged packets (header, merged headers, then each payload in place). */
static int write_group(int fd, const uint8_t *base, const uint32_t *o, const uint32_t *l, uint32_t i,
                       const pqc_gro_group *g) {
  struct iovec iov[2 + PQC_GRO_MAX_SEGS];
  uint32_t k;
  if (g->count == 1) return write_packet(fd, 1, base + o[i], l[i]);
  iov[0].iov_base = (void *)g->vnet;
  iov[0].iov_len = PQC_VNET_HDR_LEN;
  iov[1].iov_base = (void *)g->head;
  iov[1].iov_len = g->head_len;
  for (k = 0; k < g->count; k++) {
    iov[2 + k].iov_base = (void *)(base + o[i + k] + g->hlen);
    iov[2 + k].iov_len = l[i + k] - g->hlen;
  }
  return write_iov(fd, iov, (int)(2 + g->count));
}

/*
 * tunWriteBatch(fd, buf, offsets, lengths, count, counters, offload = false) -> packets consumed.
 * One JS->C crossing per batch. Without offload, one write(2) per packet (a TUN fd takes one
 * packet per write). With offload, consecutive segments of one TCP/IPv4 flow go out as one GSO
 * write (offload.c), the rest one per write behind a zero header. Stops at the first EAGAIN (the
 * rest is the caller's to drop or retry); a write the kernel refuses (EINVAL for a malformed
 * packet, EIO when the link is down) is counted as failed (each of its packets) and skipped.
 * counters: Float64Array of WC_COUNT, accumulated; when it has WC_TUN_COUNT slots, also the
 * merged writes and the packets they carried.
 */
static napi_value tun_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7, buf_len, n_off, n_len, n_ctr;
  napi_value argv[7], out;
  int32_t fd;
  uint32_t count, i;
  int offload;
  void *buf, *offs, *lens, *ctrs;
  pqc_gro_group g;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6) {
    pqc_throw_arg(env, "tunWriteBatch(fd, buf, offsets, lengths, count, counters[, offload])");
    return NULL;
  }
  PQC_TRY(pqc_arg_int32(env, argv[0], "fd", &fd));
  PQC_TRY(pqc_arg_typed(env, argv[1], "buf", napi_uint8_array, &buf, &buf_len));
  PQC_TRY(pqc_arg_typed(env, argv[2], "offsets", napi_uint32_array, &offs, &n_off));
  PQC_TRY(pqc_arg_typed(env, argv[3], "lengths", napi_uint32_array, &lens, &n_len));
  PQC_TRY(pqc_arg_uint32(env, argv[4], "count", &count));
  PQC_TRY(pqc_arg_typed(env, argv[5], "counters", napi_float64_array, &ctrs, &n_ctr));
  PQC_TRY(pqc_arg_opt_bool(env, argc, argv, 6, "offload", &offload));
  if (count > n_off || count > n_len || n_ctr < WC_COUNT) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "count exceeds offsets/lengths, or counters too short");
    return NULL;
  }
  double *ctr = ctrs;
  const uint8_t *base = buf;
  const uint32_t *o = offs, *l = lens;
  for (i = 0; i < count; i++) PQC_TRY(check_range(env, buf_len, o[i], l[i]));
  for (i = 0; i < count;) {
    int r;
    uint32_t n = 1;
    if (offload) {
      pqc_gro_group_make(base, o, l, count, i, &g);
      n = g.count;
      r = write_group(fd, base, o, l, i, &g);
    } else {
      r = write_packet(fd, 0, base + o[i], l[i]);
    }
    if (r == 1) {
      ctr[WC_SENT] += n;
      if (n > 1 && n_ctr >= WC_TUN_COUNT) {
        ctr[WC_TUN_MERGED_WRITES] += 1;
        ctr[WC_TUN_MERGED_PACKETS] += n;
      }
    } else if (r == 0) {
      ctr[WC_WOULD_BLOCK] += 1;
      break;
    } else {
      ctr[WC_FAILED] += n;
      ctr[WC_LAST_ERRNO] = -r;
    }
    i += n;
  }
  napi_create_uint32(env, i, &out);
  return out;
}

/* Test hooks: the data path's packet logic without a device (test/unit/router/tun-offload). */

/* tunSegmentForTest(vnetHeaderAndPacket, maxOut = 65535) -> the packets the reader would deliver. */
static napi_value tun_segment_for_test(napi_env env, napi_callback_info info) {
  size_t argc = 2, in_len;
  napi_value argv[2], arr, v;
  void *in;
  uint32_t max_out = PQC_OFFLOAD_MAX_PACKET, i;
  pqc_vnet_hdr h;
  pqc_gso_plan plan;
  uint8_t *out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  PQC_TRY(pqc_arg_typed(env, argc > 0 ? argv[0] : NULL, "input", napi_uint8_array, &in, &in_len));
  if (argc > 1) PQC_TRY(pqc_arg_uint32(env, argv[1], "maxOut", &max_out));
  if (max_out == 0 || max_out > PQC_OFFLOAD_MAX_PACKET) {
    pqc_throw_arg(env, "maxOut must be in [1, 65535]");
    return NULL;
  }
  if (napi_create_array(env, &arr) != napi_ok) return NULL;
  if (in_len < PQC_VNET_HDR_LEN || in_len - PQC_VNET_HDR_LEN > PQC_OFFLOAD_MAX_PACKET) return arr;
  pqc_vnet_hdr_read(in, &h);
  if (pqc_gso_plan_make(&h, (const uint8_t *)in + PQC_VNET_HDR_LEN, (uint32_t)(in_len - PQC_VNET_HDR_LEN),
                        max_out, &plan) != 0)
    return arr;
  out = malloc(max_out);
  if (out == NULL) {
    pqc_throw_errno(env, "malloc", ENOMEM);
    return NULL;
  }
  for (i = 0; i < plan.segs; i++) {
    uint32_t n = pqc_gso_segment(&plan, (const uint8_t *)in + PQC_VNET_HDR_LEN, i, out);
    void *data;
    if (napi_create_buffer_copy(env, n, out, &data, &v) != napi_ok || napi_set_element(env, arr, i, v) != napi_ok)
      break;
  }
  free(out);
  return arr;
}

/* tunCoalesceForTest(packets) -> [{header, packet}]: the writes tunWriteBatch would make. */
static napi_value tun_coalesce_for_test(napi_env env, napi_callback_info info) {
  size_t argc = 1, total = 0, len;
  napi_value argv[1], arr, item, obj, v;
  uint32_t count, i, k, n_out = 0;
  bool is_array = false;
  uint8_t *base = NULL, *pkt = NULL;
  uint32_t *offs = NULL, *lens = NULL;
  void *data;
  pqc_gro_group g;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &count) != napi_ok || count > PQC_MAX_BATCH) {
    pqc_throw_arg(env, "packets must be an array of at most 1024 Uint8Arrays");
    return NULL;
  }
  for (i = 0; i < count; i++) {
    if (napi_get_element(env, argv[0], i, &item) != napi_ok) return NULL;
    PQC_TRY(pqc_arg_typed(env, item, "packet", napi_uint8_array, &data, &len));
    total += len;
  }
  if (napi_create_array(env, &arr) != napi_ok) return NULL;
  base = malloc(total + 1);
  offs = malloc(sizeof *offs * (count + 1));
  lens = malloc(sizeof *lens * (count + 1));
  pkt = malloc(total + 1); /* a merged packet is never longer than its parts */
  if (base == NULL || offs == NULL || lens == NULL || pkt == NULL) {
    pqc_throw_errno(env, "malloc", ENOMEM);
    goto done;
  }
  total = 0;
  for (i = 0; i < count; i++) {
    if (napi_get_element(env, argv[0], i, &item) != napi_ok ||
        pqc_arg_typed(env, item, "packet", napi_uint8_array, &data, &len) != 0)
      goto done;
    memcpy(base + total, data, len);
    offs[i] = (uint32_t)total;
    lens[i] = (uint32_t)len;
    total += len;
  }
  for (i = 0; i < count; i += g.count) {
    uint32_t n;
    pqc_gro_group_make(base, offs, lens, count, i, &g);
    if (g.count == 1) {
      memcpy(pkt, base + offs[i], lens[i]);
      n = lens[i];
    } else {
      memcpy(pkt, g.head, g.head_len);
      n = g.head_len;
      for (k = 0; k < g.count; k++) {
        memcpy(pkt + n, base + offs[i + k] + g.hlen, lens[i + k] - g.hlen);
        n += lens[i + k] - g.hlen;
      }
    }
    if (napi_create_object(env, &obj) != napi_ok ||
        napi_create_buffer_copy(env, PQC_VNET_HDR_LEN, g.vnet, &data, &v) != napi_ok ||
        napi_set_named_property(env, obj, "header", v) != napi_ok ||
        napi_create_buffer_copy(env, n, pkt, &data, &v) != napi_ok ||
        napi_set_named_property(env, obj, "packet", v) != napi_ok || napi_set_element(env, arr, n_out++, obj) != napi_ok)
      goto done;
  }
done:
  free(base);
  free(offs);
  free(lens);
  free(pkt);
  return arr;
}

napi_status pqc_init_tun(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = pqc_export_fn(env, exports, "tunOpen", tun_open)) != napi_ok) return s;
  if ((s = pqc_export_fn(env, exports, "tunOffload", tun_offload)) != napi_ok) return s;
  if ((s = pqc_export_fn(env, exports, "tunSegmentForTest", tun_segment_for_test)) != napi_ok) return s;
  if ((s = pqc_export_fn(env, exports, "tunCoalesceForTest", tun_coalesce_for_test)) != napi_ok) return s;
  if ((s = pqc_export_fn(env, exports, "tunWrite", tun_write)) != napi_ok) return s;
  return pqc_export_fn(env, exports, "tunWriteBatch", tun_write_batch);
}
