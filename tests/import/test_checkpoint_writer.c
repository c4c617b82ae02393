/* Test helper: safetensors / config.json writer (independent of the
 * library's reader). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "test_checkpoint_writer.h"

uint16_t tw_f32_to_bf16(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t lsb = (b >> 16) & 1;
    return (uint16_t)((b + 0x7fff + lsb) >> 16);
}

/* Normal-range values only (tests stay well inside it). */
uint16_t tw_f32_to_f16(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    uint16_t sign = (uint16_t)((b >> 16) & 0x8000);
    if (f == 0.0f) return sign;
    int exp = (int)((b >> 23) & 0xff) - 127 + 15;
    uint32_t man = b & 0x7fffff;
    uint32_t h = ((uint32_t)exp << 10) | (man >> 13);
    uint32_t rest = man & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

void tw_fill(float *p, size_t n, uint64_t *state, int shift)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)((*state >> 33) % 511) - 255;
        p[i] = ldexpf((float)k, -shift);
    }
}

void tw_round_bf16(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t b = (uint32_t)tw_f32_to_bf16(p[i]) << 16;
        memcpy(&p[i], &b, 4);
    }
}

int tw_write_safetensors(const char *path, const char *dtype, const tw_tensor *t, size_t n)
{
    const size_t esize = strcmp(dtype, "F16") == 0 || strcmp(dtype, "BF16") == 0 ? 2 : 4;
    size_t cap = 4096 + n * 256, hl = 0, off = 0;
    char *hdr = malloc(cap);
    hl += (size_t)snprintf(hdr + hl, cap - hl, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < n; i++) {
        size_t numel = 1;
        hl += (size_t)snprintf(hdr + hl, cap - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i].name, dtype);
        for (int d = 0; d < t[i].ndim; d++) {
            numel *= (size_t)t[i].shape[d];
            hl += (size_t)snprintf(hdr + hl, cap - hl, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        }
        hl += (size_t)snprintf(hdr + hl, cap - hl, "],\"data_offsets\":[%zu,%zu]}", off, off + numel * esize);
        off += numel * esize;
    }
    hl += (size_t)snprintf(hdr + hl, cap - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) { free(hdr); return -1; }
    uint64_t len = hl;
    fwrite(&len, 8, 1, f);
    fwrite(hdr, 1, hl, f);
    for (size_t i = 0; i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= (size_t)t[i].shape[d];
        for (size_t j = 0; j < numel; j++) {
            if (esize == 4) {
                fwrite(&t[i].data[j], 4, 1, f);
            } else {
                uint16_t h = strcmp(dtype, "F16") == 0 ? tw_f32_to_f16(t[i].data[j])
                                                       : tw_f32_to_bf16(t[i].data[j]);
                fwrite(&h, 2, 1, f);
            }
        }
    }
    fclose(f);
    free(hdr);
    return 0;
}

void tw_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

const char *tw_tmpdir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/cc_test_hf_XXXXXX");
    return mkdtemp(dir);
}

void tw_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
