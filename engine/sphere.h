/* engine/sphere: a reader of NIST SPHERE audio files (the format of AN4 and TIMIT), 16-bit PCM only.
 *
 * Owns the parsing and checking of a SPHERE header and the samples read into one malloc'd array.
 * Nothing else: no resampling, no features (engine/features), nothing printed.
 *
 * The format (NIST SPHERE 2.x): an ASCII header, then the samples.
 *   line 1  "NIST_1A"
 *   line 2  the header size in bytes, right-aligned ("   1024"); a multiple of 1024 in practice
 *   then    "name -type value" lines: -i integer, -r real, -sN string of N bytes
 *   last    "end_head"; the rest of the header is padding (spaces, newlines).
 * Fields this reader uses, all checked:
 *   sample_count        > 0 and <= the caller's cap (samples per channel)
 *   sample_rate         > 0
 *   sample_n_bytes      2
 *   channel_count       1
 *   sample_coding       pcm (a missing field means pcm, as in the NIST spec; shorten/ulaw are refused)
 *   sample_byte_format  01 (little endian) or 10 (big endian); a missing field is refused
 *   sample_checksum     when present: the sum of the samples as 16-bit words, wrapping (mod 65536)
 * and the file must be exactly header + 2 * sample_count bytes long.  Other fields (sample_max,
 * sample_min, database_id, ...) are skipped; AN4's sample_max/min are known to be wrong.
 *
 * Hostile files cost bounded memory: the header is read in 1024-byte steps up to SPHERE_HEADER_MAX,
 * a field line longer than 1024 bytes is refused, and sample_count is checked against the cap and the
 * file size before anything is allocated.  Symlinks and non-regular files are refused (base/fsutil).
 * Every error is TP_EFORMAT (TP_ERANGE for a cap, TP_ENOENT/TP_EIO/TP_EINVAL from the open) with a
 * message "PATH: reason", e.g. "wav/x.sph: sample_checksum 9508 in the header, the samples sum to 9509".
 */
#ifndef TP_SPHERE_H
#define TP_SPHERE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define SPHERE_HEADER_MAX 65536           /* largest header accepted, bytes */
#define SPHERE_MAX_SAMPLES_DEFAULT (16000u * 600u)  /* 10 minutes at 16 kHz: 19 MB of samples */

typedef struct {
    long header_bytes;      /* header size (line 2) */
    long sample_count;      /* samples per channel */
    long sample_rate;       /* Hz */
    int big_endian;         /* sample_byte_format 10 */
    int has_checksum;
    long checksum;          /* sample_checksum, when has_checksum */
} SphereHeader;

typedef struct {
    SphereHeader h;
    int16_t *samples;       /* [h.sample_count], host byte order, owned */
    size_t n_samples;
} SphereAudio;

/* Parse and check a header held in 'buf' (n bytes, the whole header: n >= the size it declares).
 * 'name' starts the messages.  Does not check the file size or the checksum (sphere_read does). */
TpStatus sphere_parse_header(const char *buf, size_t n, const char *name, SphereHeader *h);

/* Read the file at 'path' (symlinks refused), check everything listed above and return its samples.
 * max_samples == 0 means SPHERE_MAX_SAMPLES_DEFAULT.  On failure *out is zeroed. */
TpStatus sphere_read(const char *path, size_t max_samples, SphereAudio *out);
void sphere_free(SphereAudio *a);

/* The SPHERE checksum of n samples: their sum modulo 65536 (as 16-bit two's complement words). */
uint16_t sphere_checksum(const int16_t *x, size_t n);

#endif
