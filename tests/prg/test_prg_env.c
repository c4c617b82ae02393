/* CARACAL_ISA picks the AES path at start-up: ref -> portable, avx2 -> the
 * best 256-bit-or-narrower path, avx512 -> the best path.  ctest runs this
 * once per value (see CMakeLists.txt). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "prg.h"

static cc_prg_impl best_at_most(cc_prg_impl ceiling)
{
    for (int i = (int)ceiling; i > 0; i--)
        if (cc_prg_impl_supported((cc_prg_impl)i)) return (cc_prg_impl)i;
    return CC_PRG_REF;
}

static void env_selects_path(void **state)
{
    (void)state;
    const char *isa = getenv("CARACAL_ISA");
    assert_non_null(isa);
    cc_prg_impl want = strcmp(isa, "ref") == 0    ? CC_PRG_REF
                     : strcmp(isa, "avx2") == 0   ? best_at_most(CC_PRG_VAES256)
                     : best_at_most(CC_PRG_VAES512);
    print_message("CARACAL_ISA=%s -> %s\n", isa, cc_prg_impl_name(cc_prg_active_impl()));
    assert_int_equal(cc_prg_active_impl(), want);
    /* and the chosen path still produces the FIPS-197 C.1 ciphertext */
    const uint8_t key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
    const uint8_t pt[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                             0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    const uint8_t ct[16] = { 0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                             0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a };
    cc_aes128 k;
    uint8_t out[16];
    cc_aes128_init(&k, key);
    cc_aes128_encrypt_block(&k, pt, out);
    assert_memory_equal(out, ct, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(env_selects_path) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
