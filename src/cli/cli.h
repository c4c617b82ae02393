/* The public header of src/cli (used by the programs and the fuzz harness):
 * numeric command-line values, parsed strictly: the whole text must be the
 * value (no trailing garbage, no empty text, no silent wrap-around), and the
 * value must lie in [lo, hi].  Each returns false on anything else and
 * leaves *out untouched; callers print their own usage message. */
#ifndef CARACAL_CLI_H
#define CARACAL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal integer, optional leading '-' (no spaces, no '+'). */
bool cc_cli_long(const char *s, long lo, long hi, long *out);
bool cc_cli_int(const char *s, int lo, int hi, int *out);
bool cc_cli_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out);

/* "a,b,c": 1..cap decimal integers in [lo, hi] separated by single commas.
 * Returns how many were written to out, or -1. */
int cc_cli_int_list(const char *s, int lo, int hi, int *out, int cap);

/* Exactly 2n hex digits (either case) into n bytes. */
bool cc_cli_hex(const char *s, uint8_t *out, size_t n);

/* "host:port" or "[v6 host]:port": host (non-empty, < host_cap bytes) and
 * port 1..65535. */
bool cc_cli_hostport(const char *s, char *host, size_t host_cap, uint16_t *port);

#endif
