/* ids.h: trace and span identifiers. Trace ids are 1..128 printable ASCII
 * characters. A 32-hex-digit id and the UUID text form of the same 128 bits
 * (any case) name the same trace: both are canonicalised to 32 lowercase
 * hex digits, the storage key. Other ids are stored verbatim. */
#ifndef TS_IDS_H
#define TS_IDS_H

#include <stddef.h>
#include <stdint.h>

#define TS_ID_MAX 128
#define TS_UUID_STRLEN 36

/* Validates id (len bytes, must be 1..TS_ID_MAX printable ASCII 0x21..0x7e)
 * and writes its canonical key into out (size >= TS_ID_MAX + 1).
 * Returns TS_OK or TS_EINVAL. */
int ts_id_canon(const char *id, size_t len, char out[TS_ID_MAX + 1]);

/* True when canon is 32 lowercase hex digits (so it has a UUID form). */
int ts_id_is_hex128(const char *canon);

/* Renders a canonical id for TruLayer: UUID form (8-4-4-4-12) when it is
 * 128-bit hex, verbatim otherwise. out size >= TS_ID_MAX + 1. */
void ts_id_to_uuid_form(const char *canon, char out[TS_ID_MAX + 1]);

/* New random UUID (v4) text, lowercase, into out (37 bytes). */
void ts_uuid_new(char out[TS_UUID_STRLEN + 1]);

/* True when s is a UUID in text form (any case). */
int ts_uuid_valid(const char *s);

/* The value of hex digit c (either case), -1 if c is not one. */
int ts_hex_digit(char c);

/* 64-bit FNV-1a of a NUL-terminated string, for in-memory hash tables. */
uint64_t ts_str_hash(const char *s);

#endif
