/*
 * UDP sockets for the data path: bound, non-blocking, large kernel buffers, drop counter enabled
 * (SO_RXQ_OVFL); sends of one datagram (sendto) or of a batch (sendmmsg: one syscall for up to
 * SEND_CHUNK datagrams). Batched receive is the batch reader's job (reader.c). Addresses cross
 * the boundary packed: 4 bytes (IPv4) or 16 bytes (IPv6) in network order, ports as numbers.
 */
#define _GNU_SOURCE
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Datagrams handed to one sendmmsg(2) call (the kernel caps a call at UIO_MAXIOV = 1024). */
#define SEND_CHUNK 64

static int parse_family(napi_env env, napi_value v, int *family) {
  int32_t f;
  if (pqc_arg_int32(env, v, "family", &f) != 0) return -1;
  if (f != 4 && f != 6) {
    pqc_throw_arg(env, "family must be 4 or 6");
    return -1;
  }
  *family = f;
  return 0;
}

/* Fill a sockaddr from packed address bytes; returns its length. */
static socklen_t make_sockaddr(int family, const uint8_t *addr, uint16_t port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(struct sockaddr_in6));
  if (family == 4) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    memcpy(&sin->sin_addr, addr, 4);
    return sizeof *sin;
  }
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  memcpy(&sin6->sin6_addr, addr, 16);
  return sizeof *sin6;
}

/* Set a buffer size, forcing past rmem_max/wmem_max when we are privileged. */
static void set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0)
    (void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

/* udpOpen(family, bindAddress, port, reusePort, bufferBytes) -> fd */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  char addr_text[INET6_ADDRSTRLEN];
  uint8_t addr[16];
  int family, reuse, fd, one = 1;
  uint32_t port, buffer_bytes;
  struct sockaddr_storage ss;
  socklen_t sslen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5) {
    pqc_throw_arg(env, "udpOpen(family, bindAddress, port, reusePort, bufferBytes)");
    return NULL;
  }
  PQC_TRY(parse_family(env, argv[0], &family));
  PQC_TRY(pqc_arg_string(env, argv[1], "bindAddress", addr_text, sizeof addr_text));
  PQC_TRY(pqc_arg_uint32(env, argv[2], "port", &port));
  PQC_TRY(pqc_arg_bool(env, argv[3], "reusePort", &reuse));
  PQC_TRY(pqc_arg_uint32(env, argv[4], "bufferBytes", &buffer_bytes));
  if (port > 65535 || buffer_bytes > 0x7fffffffu) {
    pqc_throw_arg(env, "port must be at most 65535 and bufferBytes below 2^31");
    return NULL;
  }
  if (inet_pton(family == 4 ? AF_INET : AF_INET6, addr_text, addr) != 1) {
    pqc_throw_arg(env, "bindAddress is not an address of the given family");
    return NULL;
  }
  fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    pqc_throw_errno(env, "socket", errno);
    return NULL;
  }
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) goto fail_errno_opt;
  /* The kernel's drop count arrives with each datagram (reader.c reports it). */
  if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0) goto fail_errno_opt;
  if (buffer_bytes > 0) {
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, (int)buffer_bytes);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, (int)buffer_bytes);
  }
  sslen = make_sockaddr(family, addr, (uint16_t)port, &ss);
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
    int err = errno;
    close(fd);
    pqc_throw_errno(env, "bind", err);
    return NULL;
  }
  napi_create_int32(env, fd, &out);
  return out;
fail_errno_opt : {
  int err = errno;
  close(fd);
  pqc_throw_errno(env, "setsockopt", err);
  return NULL;
}
}

/* udpLocalAddress(fd) -> {family, address, port} (getsockname) */
static napi_value udp_local_address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, v;
  int32_t fd;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char text[INET6_ADDRSTRLEN];
  int family;
  uint16_t port;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  PQC_TRY(pqc_arg_int32(env, argc > 0 ? argv[0] : NULL, "fd", &fd));
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    pqc_throw_errno(env, "getsockname", errno);
    return NULL;
  }
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    family = 4;
    port = ntohs(sin->sin_port);
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
  } else if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    family = 6;
    port = ntohs(sin6->sin6_port);
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
  } else {
    pqc_throw_errno(env, "getsockname", EAFNOSUPPORT);
    return NULL;
  }
  if (napi_create_object(env, &result) != napi_ok) return NULL;
  napi_create_int32(env, family, &v);
  napi_set_named_property(env, result, "family", v);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, result, "address", v);
  napi_create_uint32(env, port, &v);
  napi_set_named_property(env, result, "port", v);
  return result;
}

static int addr_bytes_of(int family) { return family == 4 ? 4 : 16; }

/* udpSend(fd, family, buf, offset, length, address, port) -> bytes sent, 0 would block, -errno */
static napi_value udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 7, buf_len, addr_len;
  napi_value argv[7], out;
  int32_t fd;
  int family;
  uint32_t off, len, port;
  void *buf, *addr;
  struct sockaddr_storage ss;
  socklen_t sslen;
  ssize_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 7) {
    pqc_throw_arg(env, "udpSend(fd, family, buf, offset, length, address, port)");
    return NULL;
  }
  PQC_TRY(pqc_arg_int32(env, argv[0], "fd", &fd));
  PQC_TRY(parse_family(env, argv[1], &family));
  PQC_TRY(pqc_arg_typed(env, argv[2], "buf", napi_uint8_array, &buf, &buf_len));
  PQC_TRY(pqc_arg_uint32(env, argv[3], "offset", &off));
  PQC_TRY(pqc_arg_uint32(env, argv[4], "length", &len));
  PQC_TRY(pqc_arg_typed(env, argv[5], "address", napi_uint8_array, &addr, &addr_len));
  PQC_TRY(pqc_arg_uint32(env, argv[6], "port", &port));
  if ((uint64_t)off + len > buf_len || addr_len != (size_t)addr_bytes_of(family) || port > 65535) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "bad range, address length or port");
    return NULL;
  }
  sslen = make_sockaddr(family, addr, (uint16_t)port, &ss);
  do {
    n = sendto(fd, (const uint8_t *)buf + off, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sslen);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) napi_create_int32(env, (int32_t)n, &out);
  else napi_create_int32(env, (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? 0 : -errno, &out);
  return out;
}

/*
 * Runs of datagrams to the same address and port, all of one size except a shorter last one, go
 * out as ONE message with UDP_SEGMENT (UDP GSO, Linux 4.18): the kernel builds one large skb and
 * splits it as late as possible, so the IP/UDP/veth path runs once per run instead of once per
 * datagram. The datagrams on the wire are byte for byte those of separate sends.
 */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
/* Datagrams in one GSO message (the kernel's UDP_MAX_SEGMENTS is 64 before Linux 6.9). */
#define GSO_MAX_SEGMENTS 64
/* Payload bytes of one GSO message (an IPv4 UDP datagram carries at most 65507). */
#define GSO_MAX_BYTES 65000u

/* How many datagrams from k on can share one GSO message (1 = send it alone). */
static uint32_t gso_run(const uint32_t *l, const uint8_t *addrs, const uint16_t *p, int ab, uint32_t k,
                        uint32_t count) {
  uint32_t n = 1, total = l[k], seg = l[k];
  if (seg == 0) return 1;
  while (k + n < count && n < GSO_MAX_SEGMENTS) {
    uint32_t j = k + n;
    if (p[j] != p[k] || memcmp(addrs + (size_t)j * ab, addrs + (size_t)k * ab, (size_t)ab) != 0) break;
    if (l[j] > seg || l[j] == 0 || total + l[j] > GSO_MAX_BYTES) break;
    total += l[j];
    n++;
    if (l[j] < seg) break; /* only the last segment may be shorter */
  }
  return n;
}

/*
 * udpSendBatch(fd, family, buf, offsets, lengths, addresses, ports, count, counters[, gso])
 *   -> consumed.
 * addresses packs 4 (IPv4) or 16 (IPv6) bytes per datagram. sendmmsg(2) in chunks; it stops at
 * EAGAIN/ENOBUFS (the rest is the caller's to drop or retry). A datagram the kernel refuses for
 * itself (EHOSTUNREACH, EMSGSIZE, EPERM from a firewall...) is counted as failed and skipped.
 * With gso, runs go out as UDP GSO messages; a run the kernel refuses as such (no checksum
 * offload on the route: EIO; larger than the path MTU: EINVAL) is sent again datagram by
 * datagram, and after EIO counters[WC_UDP_GSO_REFUSED] is set (when the array has WC_UDP_COUNT
 * slots) so the caller stops asking.
 */
static napi_value udp_send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 10, buf_len, n_off, n_len, n_addr, n_port, n_ctr;
  napi_value argv[10], out;
  int32_t fd;
  int family, ab, gso;
  uint32_t count, i, done = 0, plain_until = 0;
  void *buf, *offs, *lens, *addrs, *ports, *ctrs;
  struct mmsghdr msgs[SEND_CHUNK];
  uint32_t packets[SEND_CHUNK];
  struct iovec iov[SEND_CHUNK * GSO_MAX_SEGMENTS];
  struct sockaddr_storage names[SEND_CHUNK];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } control[SEND_CHUNK];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 9) {
    pqc_throw_arg(env, "udpSendBatch(fd, family, buf, offsets, lengths, addresses, ports, count, counters[, gso])");
    return NULL;
  }
  PQC_TRY(pqc_arg_int32(env, argv[0], "fd", &fd));
  PQC_TRY(parse_family(env, argv[1], &family));
  PQC_TRY(pqc_arg_typed(env, argv[2], "buf", napi_uint8_array, &buf, &buf_len));
  PQC_TRY(pqc_arg_typed(env, argv[3], "offsets", napi_uint32_array, &offs, &n_off));
  PQC_TRY(pqc_arg_typed(env, argv[4], "lengths", napi_uint32_array, &lens, &n_len));
  PQC_TRY(pqc_arg_typed(env, argv[5], "addresses", napi_uint8_array, &addrs, &n_addr));
  PQC_TRY(pqc_arg_typed(env, argv[6], "ports", napi_uint16_array, &ports, &n_port));
  PQC_TRY(pqc_arg_uint32(env, argv[7], "count", &count));
  PQC_TRY(pqc_arg_typed(env, argv[8], "counters", napi_float64_array, &ctrs, &n_ctr));
  PQC_TRY(pqc_arg_opt_bool(env, argc, argv, 9, "gso", &gso));
  ab = addr_bytes_of(family);
  if (count > n_off || count > n_len || count > n_port || (uint64_t)count * ab > n_addr || n_ctr < WC_COUNT) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "count exceeds one of the arrays, or counters too short");
    return NULL;
  }
  const uint32_t *o = offs, *l = lens;
  const uint16_t *p = ports;
  double *ctr = ctrs;
  for (i = 0; i < count; i++) {
    if ((uint64_t)o[i] + l[i] > buf_len) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offset + length is beyond the end of the buffer");
      return NULL;
    }
  }
  while (done < count) {
    uint32_t m = 0, k = done, used_iov = 0, sent_packets = 0;
    int n;
    /* Build up to SEND_CHUNK messages, each one datagram or one GSO run. */
    while (k < count && m < SEND_CHUNK) {
      uint32_t run = (gso && k >= plain_until) ? gso_run(l, addrs, p, ab, k, count) : 1, j;
      struct msghdr *h = &msgs[m].msg_hdr;
      memset(&msgs[m], 0, sizeof msgs[m]);
      for (j = 0; j < run; j++) {
        iov[used_iov + j].iov_base = (uint8_t *)buf + o[k + j];
        iov[used_iov + j].iov_len = l[k + j];
      }
      h->msg_name = &names[m];
      h->msg_namelen = make_sockaddr(family, (const uint8_t *)addrs + (size_t)k * ab, p[k], &names[m]);
      h->msg_iov = &iov[used_iov];
      h->msg_iovlen = run;
      if (run > 1) {
        struct cmsghdr *c;
        uint16_t seg = (uint16_t)l[k];
        h->msg_control = control[m].buf;
        h->msg_controllen = sizeof control[m].buf;
        c = CMSG_FIRSTHDR(h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof seg);
        memcpy(CMSG_DATA(c), &seg, sizeof seg);
      }
      packets[m++] = run;
      used_iov += run;
      k += run;
    }
    n = sendmmsg(fd, msgs, m, MSG_DONTWAIT);
    if (n > 0) {
      for (i = 0; i < (uint32_t)n; i++) sent_packets += packets[i];
      done += sent_packets;
      ctr[WC_SENT] += sent_packets;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      ctr[WC_WOULD_BLOCK] += 1;
      break;
    }
    if (n < 0 && packets[0] > 1 && (errno == EIO || errno == EINVAL || errno == EMSGSIZE)) {
      /* The kernel refused the run as GSO: send the same datagrams one by one. */
      if (errno == EIO) {
        gso = 0;
        if (n_ctr >= WC_UDP_COUNT) ctr[WC_UDP_GSO_REFUSED] = 1;
      }
      plain_until = done + packets[0];
      continue;
    }
    /* The first message failed on its own: count its datagrams and go on with the next. */
    ctr[WC_FAILED] += packets[0];
    ctr[WC_LAST_ERRNO] = n < 0 ? errno : 0;
    done += packets[0];
  }
  napi_create_uint32(env, done, &out);
  return out;
}

napi_status pqc_init_udp(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = pqc_export_fn(env, exports, "udpOpen", udp_open)) != napi_ok) return s;
  if ((s = pqc_export_fn(env, exports, "udpLocalAddress", udp_local_address)) != napi_ok) return s;
  if ((s = pqc_export_fn(env, exports, "udpSend", udp_send)) != napi_ok) return s;
  return pqc_export_fn(env, exports, "udpSendBatch", udp_send_batch);
}
