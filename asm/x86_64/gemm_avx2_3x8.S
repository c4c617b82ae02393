/* AVX2 ring-GEMM micro-kernel, 3×8 tile:  C[0..3)[0..8) (+)= Ap · Bp mod 2^64.
 *
 * void cc_gemm_avx2_ukr_3x8(size_t k,             rdi
 *                           const uint64_t *Ap,   rsi  packed A: per depth step
 *                                                      3 rows × (a, rot32(a))
 *                           const uint64_t *Bp,   rdx  packed B: per step 8 words
 *                           uint64_t *C,          rcx
 *                           size_t ldc,           r8   (elements)
 *                           bool accumulate);     r9b
 *
 * Why assembly: GCC 12 spills half of the 12 accumulators of the intrinsic
 * version to the stack (16 ymm registers, all live), which costs ~40%.
 *
 * Arithmetic (see src/kern/avx2/avx2.c): a·b = al·bl + 2^32·(ah·bl + al·bh).
 *   lo_ij  += vpmuludq(a_i, b_j)          full 64-bit al·bl per lane
 *   cr_ij  += vpmulld(rot32(a_i), b_j)    32-bit lanes: ah·bl | al·bh
 * and at the end C = lo + ((cr + (cr >> 32)) << 32).
 * Per depth step: 2 B loads, 6 broadcasts, 12 multiplies (2/cycle on Zen 3),
 * 12 adds: 24 MACs in ~6 cycles at best.
 *
 * Registers: ymm0-5 lo (row i, half h -> ymm(2i+h)), ymm6-11 cr likewise,
 * ymm12/13 B halves, ymm14 broadcast A, ymm15 product (renamed each use). */
        .text
        .globl  cc_gemm_avx2_ukr_3x8
        .type   cc_gemm_avx2_ukr_3x8, @function
        .p2align 5
cc_gemm_avx2_ukr_3x8:
        .cfi_startproc
        vpxor   %ymm0, %ymm0, %ymm0
        vpxor   %ymm1, %ymm1, %ymm1
        vpxor   %ymm2, %ymm2, %ymm2
        vpxor   %ymm3, %ymm3, %ymm3
        vpxor   %ymm4, %ymm4, %ymm4
        vpxor   %ymm5, %ymm5, %ymm5
        vpxor   %ymm6, %ymm6, %ymm6
        vpxor   %ymm7, %ymm7, %ymm7
        vpxor   %ymm8, %ymm8, %ymm8
        vpxor   %ymm9, %ymm9, %ymm9
        vpxor   %ymm10, %ymm10, %ymm10
        vpxor   %ymm11, %ymm11, %ymm11
        test    %rdi, %rdi
        jz      .Lstore

/* one depth step; \ao = byte offset into Ap, \bo into Bp */
.macro STEP ao, bo
        vmovdqu \bo(%rdx), %ymm12
        vmovdqu \bo+32(%rdx), %ymm13
        vpbroadcastq \ao(%rsi), %ymm14
        vpmuludq %ymm12, %ymm14, %ymm15
        vpaddq  %ymm15, %ymm0, %ymm0
        vpmuludq %ymm13, %ymm14, %ymm15
        vpaddq  %ymm15, %ymm1, %ymm1
        vpbroadcastq \ao+8(%rsi), %ymm14
        vpmulld %ymm12, %ymm14, %ymm15
        vpaddd  %ymm15, %ymm6, %ymm6
        vpmulld %ymm13, %ymm14, %ymm15
        vpaddd  %ymm15, %ymm7, %ymm7
        vpbroadcastq \ao+16(%rsi), %ymm14
        vpmuludq %ymm12, %ymm14, %ymm15
        vpaddq  %ymm15, %ymm2, %ymm2
        vpmuludq %ymm13, %ymm14, %ymm15
        vpaddq  %ymm15, %ymm3, %ymm3
        vpbroadcastq \ao+24(%rsi), %ymm14
        vpmulld %ymm12, %ymm14, %ymm15
        vpaddd  %ymm15, %ymm8, %ymm8
        vpmulld %ymm13, %ymm14, %ymm15
        vpaddd  %ymm15, %ymm9, %ymm9
        vpbroadcastq \ao+32(%rsi), %ymm14
        vpmuludq %ymm12, %ymm14, %ymm15
        vpaddq  %ymm15, %ymm4, %ymm4
        vpmuludq %ymm13, %ymm14, %ymm15
        vpaddq  %ymm15, %ymm5, %ymm5
        vpbroadcastq \ao+40(%rsi), %ymm14
        vpmulld %ymm12, %ymm14, %ymm15
        vpaddd  %ymm15, %ymm10, %ymm10
        vpmulld %ymm13, %ymm14, %ymm15
        vpaddd  %ymm15, %ymm11, %ymm11
.endm

        mov     %rdi, %rax
        shr     $2, %rax                /* groups of 4 steps */
        jz      .Ltail
        .p2align 5
.Lloop4:
        prefetcht0 512(%rdx)
        STEP    0, 0
        STEP    48, 64
        prefetcht0 576(%rdx)
        STEP    96, 128
        STEP    144, 192
        add     $192, %rsi
        add     $256, %rdx
        dec     %rax
        jnz     .Lloop4
.Ltail:
        and     $3, %rdi
        jz      .Lstore
.Lloop1:
        STEP    0, 0
        add     $48, %rsi
        add     $64, %rdx
        dec     %rdi
        jnz     .Lloop1

.Lstore:
        shl     $3, %r8                 /* ldc in bytes */
/* fold row: lo halves \l0,\l1, cross halves \c0,\c1 -> C row at %rcx */
.macro FOLD l0, l1, c0, c1
        vpsrlq  $32, %ymm\c0, %ymm14
        vpaddq  %ymm14, %ymm\c0, %ymm\c0
        vpsllq  $32, %ymm\c0, %ymm\c0
        vpaddq  %ymm\c0, %ymm\l0, %ymm\l0
        vpsrlq  $32, %ymm\c1, %ymm14
        vpaddq  %ymm14, %ymm\c1, %ymm\c1
        vpsllq  $32, %ymm\c1, %ymm\c1
        vpaddq  %ymm\c1, %ymm\l1, %ymm\l1
        test    %r9b, %r9b
        jz      1f
        vpaddq  (%rcx), %ymm\l0, %ymm\l0
        vpaddq  32(%rcx), %ymm\l1, %ymm\l1
1:
        vmovdqu %ymm\l0, (%rcx)
        vmovdqu %ymm\l1, 32(%rcx)
        add     %r8, %rcx
.endm
        FOLD    0, 1, 6, 7
        FOLD    2, 3, 8, 9
        FOLD    4, 5, 10, 11
        vzeroupper
        ret
        .cfi_endproc
        .size   cc_gemm_avx2_ukr_3x8, .-cc_gemm_avx2_ukr_3x8
        .section .note.GNU-stack,"",@progbits
