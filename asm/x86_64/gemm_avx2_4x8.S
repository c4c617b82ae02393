/* AVX2 ring-GEMM micro-kernel, 4×8 tile:  C[0..4)[0..8) (+)= A · B mod 2^64.
 *
 * void cc_gemm_avx2_ukr_4x8(size_t k,             rdi
 *                           const uint64_t *Ap,   rsi  packed A: per depth step
 *                                                      4 rows × (a, rot32(a))
 *                           const uint64_t *Bp,   rdx  B rows of 8 words ...
 *                           size_t ldb,           rcx  ... this many words apart
 *                                                      (8 for packed B)
 *                           uint64_t *C,          r8
 *                           size_t ldc,           r9   (elements)
 *                           bool accumulate);     8(%rsp)
 *
 * Rows 0-2 run on the vector units, row 3 on the scalar multiplier.
 * Vector rows (see src/kern/avx2/avx2.c): a·b = al·bl + 2^32·(ah·bl + al·bh):
 *   lo += vpmuludq(a, b)            full 64-bit al·bl per lane
 *   cr += vpmulld(rot32(a), b)      32-bit lanes ah·bl | al·bh, low halves
 *   C  = lo + ((cr + (cr >> 32)) << 32)
 * Measured on Zen 3: 12 multiplies + 12 adds per step saturate the three
 * vector integer pipes (~8 cycles for 24 MACs), while the scalar imul pipe
 * sits idle; row 3 (8 × mov/imul/add) fills it, so a step does 32 MACs in
 * about the same time, bounded by the 6-wide dispatch.  The 4-row tile also
 * divides M = 8, 128, ... with no waste.
 *
 * Registers: ymm0-5 lo (row i, half h -> ymm(2i+h)), ymm6-11 cr likewise,
 * ymm12/13 the B row, ymm14 broadcast A, ymm15 product (renamed each use);
 * r10-r15, rbx, rbp: row-3 accumulators; r8 = A[3][p]; rax product. */
        .text
        .globl  cc_gemm_avx2_ukr_4x8
        .type   cc_gemm_avx2_ukr_4x8, @function
        .p2align 5
cc_gemm_avx2_ukr_4x8:
        .cfi_startproc
        push    %rbx
        .cfi_adjust_cfa_offset 8
        push    %rbp
        .cfi_adjust_cfa_offset 8
        push    %r12
        .cfi_adjust_cfa_offset 8
        push    %r13
        .cfi_adjust_cfa_offset 8
        push    %r14
        .cfi_adjust_cfa_offset 8
        push    %r15
        .cfi_adjust_cfa_offset 8
        push    %r8                     /* C   -> 8(%rsp) */
        .cfi_adjust_cfa_offset 8
        push    %r9                     /* ldc -> 0(%rsp) */
        .cfi_adjust_cfa_offset 8
        /* accumulate flag now at 8 + 8*8 = 72(%rsp) */
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
        xor     %r10d, %r10d
        xor     %r11d, %r11d
        xor     %r12d, %r12d
        xor     %r13d, %r13d
        xor     %r14d, %r14d
        xor     %r15d, %r15d
        xor     %ebx, %ebx
        xor     %ebp, %ebp
        shl     $3, %rcx                /* ldb in bytes */
        test    %rdi, %rdi
        jz      .Lstore

/* vector row: \lo0/\lo1 += vpmuludq, \cr0/\cr1 += vpmulld; \ao byte offset of a */
.macro VROW ao, lo0, lo1, cr0, cr1
        vpbroadcastq \ao(%rsi), %ymm14
        vpmuludq %ymm12, %ymm14, %ymm15
        vpaddq  %ymm15, %ymm\lo0, %ymm\lo0
        vpmuludq %ymm13, %ymm14, %ymm15
        vpaddq  %ymm15, %ymm\lo1, %ymm\lo1
        vpbroadcastq \ao+8(%rsi), %ymm14
        vpmulld %ymm12, %ymm14, %ymm15
        vpaddd  %ymm15, %ymm\cr0, %ymm\cr0
        vpmulld %ymm13, %ymm14, %ymm15
        vpaddd  %ymm15, %ymm\cr1, %ymm\cr1
.endm
/* scalar MAC for row 3, column j: acc += A[3][p] * B[p][j] */
.macro SMAC j, acc
        mov     8*\j(%rdx), %rax
        imul    %r8, %rax
        add     %rax, \acc
.endm

        .p2align 5
.Lloop:
        vmovdqu (%rdx), %ymm12
        vmovdqu 32(%rdx), %ymm13
        mov     48(%rsi), %r8
        VROW    0, 0, 1, 6, 7
        SMAC    0, %r10
        SMAC    1, %r11
        SMAC    2, %r12
        VROW    16, 2, 3, 8, 9
        SMAC    3, %r13
        SMAC    4, %r14
        SMAC    5, %r15
        VROW    32, 4, 5, 10, 11
        SMAC    6, %rbx
        SMAC    7, %rbp
        add     $64, %rsi
        add     %rcx, %rdx
        dec     %rdi
        jnz     .Lloop

.Lstore:
        pop     %r9                     /* ldc */
        .cfi_adjust_cfa_offset -8
        pop     %r8                     /* C */
        .cfi_adjust_cfa_offset -8
        shl     $3, %r9
        movzbl  56(%rsp), %eax          /* accumulate: 6 pushes + return address above it */
/* fold vector row and store it at %r8, then advance %r8 by a row */
.macro FOLD l0, l1, c0, c1
        vpsrlq  $32, %ymm\c0, %ymm14
        vpaddq  %ymm14, %ymm\c0, %ymm\c0
        vpsllq  $32, %ymm\c0, %ymm\c0
        vpaddq  %ymm\c0, %ymm\l0, %ymm\l0
        vpsrlq  $32, %ymm\c1, %ymm14
        vpaddq  %ymm14, %ymm\c1, %ymm\c1
        vpsllq  $32, %ymm\c1, %ymm\c1
        vpaddq  %ymm\c1, %ymm\l1, %ymm\l1
        test    %eax, %eax
        jz      1f
        vpaddq  (%r8), %ymm\l0, %ymm\l0
        vpaddq  32(%r8), %ymm\l1, %ymm\l1
1:
        vmovdqu %ymm\l0, (%r8)
        vmovdqu %ymm\l1, 32(%r8)
        add     %r9, %r8
.endm
        FOLD    0, 1, 6, 7
        FOLD    2, 3, 8, 9
        FOLD    4, 5, 10, 11
        test    %eax, %eax
        jz      2f
        add     (%r8), %r10
        add     8(%r8), %r11
        add     16(%r8), %r12
        add     24(%r8), %r13
        add     32(%r8), %r14
        add     40(%r8), %r15
        add     48(%r8), %rbx
        add     56(%r8), %rbp
2:
        mov     %r10, (%r8)
        mov     %r11, 8(%r8)
        mov     %r12, 16(%r8)
        mov     %r13, 24(%r8)
        mov     %r14, 32(%r8)
        mov     %r15, 40(%r8)
        mov     %rbx, 48(%r8)
        mov     %rbp, 56(%r8)
        vzeroupper
        pop     %r15
        .cfi_adjust_cfa_offset -8
        pop     %r14
        .cfi_adjust_cfa_offset -8
        pop     %r13
        .cfi_adjust_cfa_offset -8
        pop     %r12
        .cfi_adjust_cfa_offset -8
        pop     %rbp
        .cfi_adjust_cfa_offset -8
        pop     %rbx
        .cfi_adjust_cfa_offset -8
        ret
        .cfi_endproc
        .size   cc_gemm_avx2_ukr_4x8, .-cc_gemm_avx2_ukr_4x8
        .section .note.GNU-stack,"",@progbits
