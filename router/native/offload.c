/*
 * TUN offload packet logic: owns the virtio_net_hdr encoding, the Internet checksum (RFC 1071),
 * the split of what an offload TUN read returns into ordinary IPv4 packets (finish a partial
 * checksum; segment a TCP/IPv4 super-packet, userspace TSO), and the coalescing of consecutive
 * same-flow TCP/IPv4 segments of a write batch into one GSO write (userspace GRO). Every input is
 * bounds-checked before it is read; malformed input is refused (-1 or a group of 1), never trusted.
 * tun.c and reader.c do the syscalls; nothing here allocates. Checksums only, no cryptography.
 */
#include "offload.h"

#include <string.h>

#define IP_PROTO_TCP 6u
#define TCP_FIN 0x01u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u
#define TCP_CWR 0x80u
#define IP_MF 0x2000u
#define IP_OFFMASK 0x1fffu

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t rd32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

void pqc_vnet_hdr_read(const uint8_t *p, pqc_vnet_hdr *h) {
  h->flags = p[0];
  h->gso_type = p[1];
  memcpy(&h->hdr_len, p + 2, 2);
  memcpy(&h->gso_size, p + 4, 2);
  memcpy(&h->csum_start, p + 6, 2);
  memcpy(&h->csum_offset, p + 8, 2);
}

void pqc_vnet_hdr_write(uint8_t *p, const pqc_vnet_hdr *h) {
  p[0] = h->flags;
  p[1] = h->gso_type;
  memcpy(p + 2, &h->hdr_len, 2);
  memcpy(p + 4, &h->gso_size, 2);
  memcpy(p + 6, &h->csum_start, 2);
  memcpy(p + 8, &h->csum_offset, 2);
}

/* 32-bit big-endian words at a time: 2^16 = 1 (mod 0xffff), so their sum folds to the same value
 * as the sum of 16-bit words. A 64-bit accumulator cannot overflow for any packet we handle. */
uint64_t pqc_csum_add(uint64_t sum, const uint8_t *p, size_t len) {
  size_t i = 0;
  for (; i + 4 <= len; i += 4) sum += rd32(p + i);
  if (i + 2 <= len) {
    sum += rd16(p + i);
    i += 2;
  }
  if (i < len) sum += (uint32_t)p[i] << 8;
  return sum;
}

uint16_t pqc_csum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* The TCP/IPv4 pseudo-header (RFC 793): addresses from the IP header, protocol, TCP length. */
static uint64_t pseudo_sum(const uint8_t *ip, uint32_t tcp_len) {
  uint64_t s = pqc_csum_add(0, ip + 12, 8);
  return s + IP_PROTO_TCP + tcp_len;
}

static void ip_set_checksum(uint8_t *ip, uint32_t ihl) {
  wr16(ip + 10, 0);
  wr16(ip + 10, (uint16_t)~pqc_csum_fold(pqc_csum_add(0, ip, ihl)));
}

int pqc_gso_plan_make(const pqc_vnet_hdr *h, const uint8_t *pkt, uint32_t len, uint32_t max_out,
                      pqc_gso_plan *plan) {
  uint32_t ihl, thl, payload;
  memset(plan, 0, sizeof *plan);
  plan->len = len;
  plan->segs = 1;
  if (len == 0 || len > PQC_OFFLOAD_MAX_PACKET) return -1;
  if (h->gso_type == PQC_VNET_GSO_NONE) {
    if (len > max_out) return -1;
    if (!(h->flags & PQC_VNET_F_NEEDS_CSUM)) {
      plan->kind = PQC_GSO_COPY;
      return 0;
    }
    /* The 16-bit field at csum_start + csum_offset must lie inside the packet. */
    if ((uint32_t)h->csum_start >= len || (uint32_t)h->csum_start + h->csum_offset + 2u > len) return -1;
    plan->kind = PQC_GSO_CSUM;
    plan->csum_start = h->csum_start;
    plan->csum_offset = h->csum_offset;
    return 0;
  }
  if (h->gso_type != PQC_VNET_GSO_TCPV4) return -1; /* TSO6, UDP, ECN: never offered */
  /* IPv4 header: version 4, ihl >= 5, not a fragment, TCP. */
  if (len < 20 || (pkt[0] >> 4) != 4) return -1;
  ihl = (uint32_t)(pkt[0] & 0x0f) * 4u;
  if (ihl < 20 || ihl + 20 > len) return -1;
  if (pkt[9] != IP_PROTO_TCP) return -1;
  if (rd16(pkt + 6) & (IP_MF | IP_OFFMASK)) return -1;
  thl = (uint32_t)(pkt[ihl + 12] >> 4) * 4u;
  if (thl < 20 || ihl + thl > len) return -1;
  /* The kernel's hdr_len may be the linear head rather than the headers: a bound, not the value. */
  if (h->hdr_len > len) return -1;
  if ((h->flags & PQC_VNET_F_NEEDS_CSUM) && (h->csum_start != ihl || h->csum_offset != 16)) return -1;
  if (h->gso_size == 0) return -1;
  payload = len - ihl - thl;
  if (payload == 0) return -1;
  /* Every segment but the last carries gso_size bytes: the largest must fit an output slot. */
  if (ihl + thl + (payload < h->gso_size ? payload : h->gso_size) > max_out) return -1;
  plan->segs = (payload + h->gso_size - 1) / h->gso_size;
  if (plan->segs > PQC_GSO_MAX_SEGS) return -1;
  plan->kind = PQC_GSO_TCP4;
  plan->ihl = ihl;
  plan->hlen = ihl + thl;
  plan->gso_size = h->gso_size;
  return 0;
}

uint32_t pqc_gso_segment(const pqc_gso_plan *plan, const uint8_t *pkt, uint32_t index, uint8_t *out) {
  uint32_t off, plen, total, ihl = plan->ihl, hlen = plan->hlen;
  uint8_t flags;
  if (plan->kind == PQC_GSO_COPY) {
    memcpy(out, pkt, plan->len);
    return plan->len;
  }
  if (plan->kind == PQC_GSO_CSUM) {
    /* The field holds the pseudo-header sum; sum from csum_start to the end over it, as the
     * kernel's skb_checksum_help does (a result of 0 is sent as 0xffff). */
    uint16_t c;
    memcpy(out, pkt, plan->len);
    c = (uint16_t)~pqc_csum_fold(pqc_csum_add(0, out + plan->csum_start, plan->len - plan->csum_start));
    wr16(out + plan->csum_start + plan->csum_offset, c == 0 ? 0xffff : c);
    return plan->len;
  }
  off = index * plan->gso_size;
  plen = plan->len - hlen - off;
  if (plen > plan->gso_size) plen = plan->gso_size;
  total = hlen + plen;
  memcpy(out, pkt, hlen);
  memcpy(out + hlen, pkt + hlen + off, plen);
  wr16(out + 2, (uint16_t)total);
  wr16(out + 4, (uint16_t)(rd16(pkt + 4) + index));
  ip_set_checksum(out, ihl);
  wr32(out + ihl + 4, rd32(pkt + ihl + 4) + off);
  flags = pkt[ihl + 13];
  if (index != 0) flags &= (uint8_t)~TCP_CWR;
  if (index + 1 != plan->segs) flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
  out[ihl + 13] = flags;
  wr16(out + ihl + 16, 0);
  wr16(out + ihl + 16,
       (uint16_t)~pqc_csum_fold(pqc_csum_add(pseudo_sum(out, total - ihl), out + ihl, total - ihl)));
  return total;
}

/* A packet that may be merged: TCP/IPv4 without IP options or fragmentation, exact IP length,
 * ACK with at most PSH besides, some payload, both checksums valid. Returns hlen, or 0. */
static uint32_t gro_candidate(const uint8_t *p, uint32_t len) {
  uint32_t thl, hlen, f;
  if (len < 40 || p[0] != 0x45 || p[9] != IP_PROTO_TCP) return 0;
  if (rd16(p + 2) != len || (rd16(p + 6) & (IP_MF | IP_OFFMASK))) return 0;
  thl = (uint32_t)(p[32] >> 4) * 4u;
  hlen = 20 + thl;
  if (thl < 20 || hlen >= len) return 0;
  f = p[33];
  if ((f & ~(uint32_t)TCP_PSH) != TCP_ACK) return 0;
  if (pqc_csum_fold(pqc_csum_add(0, p, 20)) != 0xffff) return 0;
  if (pqc_csum_fold(pqc_csum_add(pseudo_sum(p, len - 20), p + 20, len - 20)) != 0xffff) return 0;
  return hlen;
}

/* Same flow and same headers except IP id/length/checksum, TCP seq/checksum and PSH. */
static int gro_same(const uint8_t *a, const uint8_t *b, uint32_t hlen) {
  if (memcmp(a, b, 2) != 0) return 0;                       /* version, ihl, tos */
  if (memcmp(a + 6, b + 6, 4) != 0) return 0;               /* flags/fragment, ttl, protocol */
  if (memcmp(a + 12, b + 12, 8) != 0) return 0;             /* addresses */
  if (memcmp(a + 20, b + 20, 4) != 0) return 0;             /* ports */
  if (memcmp(a + 28, b + 28, 5) != 0) return 0;             /* ack, data offset */
  if (memcmp(a + 34, b + 34, 2) != 0) return 0;             /* window */
  if (memcmp(a + 38, b + 38, hlen - 38) != 0) return 0;     /* urgent pointer, options */
  return 1;
}

void pqc_gro_group_make(const uint8_t *base, const uint32_t *offs, const uint32_t *lens, uint32_t count,
                        uint32_t start, pqc_gro_group *g) {
  const uint8_t *first = base + offs[start], *prev = first;
  uint32_t hlen = gro_candidate(first, lens[start]), gso, total, prev_pay, i;
  pqc_vnet_hdr h;
  memset(g->vnet, 0, sizeof g->vnet);
  g->count = 1;
  g->head_len = 0;
  g->hlen = hlen;
  if (hlen == 0 || (first[33] & TCP_PSH)) return;
  gso = lens[start] - hlen;
  total = lens[start];
  prev_pay = gso;
  for (i = start + 1; i < count && g->count < PQC_GRO_MAX_SEGS; i++) {
    const uint8_t *p = base + offs[i];
    uint32_t len = lens[i], pay;
    if (prev_pay != gso || (prev[33] & TCP_PSH)) break; /* a short or PSH segment ends a group */
    if (len <= hlen || len - hlen > gso || total + (len - hlen) > PQC_OFFLOAD_MAX_PACKET) break;
    if (!gro_same(first, p, hlen)) break;
    if (rd32(p + 24) != rd32(prev + 24) + prev_pay) break; /* contiguous seq */
    if (gro_candidate(p, len) != hlen) break;
    pay = len - hlen;
    total += pay;
    prev_pay = pay;
    prev = p;
    g->count++;
  }
  if (g->count == 1) return;
  /* The merged packet's headers: the first's, with the whole length, the last's PSH, and the
   * pseudo-header sum in the TCP checksum (CHECKSUM_PARTIAL: the kernel finishes it). */
  memcpy(g->head, first, hlen);
  g->head_len = hlen;
  wr16(g->head + 2, (uint16_t)total);
  ip_set_checksum(g->head, 20);
  g->head[33] = prev[33];
  wr16(g->head + 36, pqc_csum_fold(pseudo_sum(g->head, total - 20)));
  h.flags = PQC_VNET_F_NEEDS_CSUM;
  h.gso_type = PQC_VNET_GSO_TCPV4;
  h.hdr_len = (uint16_t)hlen;
  h.gso_size = (uint16_t)gso;
  h.csum_start = 20;
  h.csum_offset = 16;
  pqc_vnet_hdr_write(g->vnet, &h);
}
