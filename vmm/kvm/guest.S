/* SPDX-License-Identifier: MIT */
/*
 * Guest code, copied by the VMM into the code memslot and run at EL1 with
 * the MMU off (position independent: relative branches only).
 *
 * On entry (set with KVM_SET_ONE_REG):
 *   x0  IPA of this vCPU's first data page
 *   x1  number of data pages this vCPU owns
 *   x2  IPA of this vCPU's parameter block, written by the VMM:
 *         [0] round stamp  [8] pages per period  [16] pattern (0 seq, 1 random)
 *   x3  MMIO address: one store there ends a period (KVM_EXIT_MMIO)
 *   x5  random state (non-zero)
 * Each written page gets, at offset 0, the round stamp and at offset 8 the
 * vCPU's running write count; the store to x3 carries that count.
 * With the MMU off, data accesses are Device memory at stage 1: stores
 * must be aligned (they are) and the VMM sees them only once the vCPU has
 * exited, which is when it reads the stamps.
 */
	.text
	.globl	kvmdirty_guest_code
	.globl	kvmdirty_guest_code_end
	.p2align 2
kvmdirty_guest_code:
	mov	x4, #0			/* sequential cursor */
	mov	x6, #0			/* writes so far */
1:	ldr	x7, [x2]		/* round stamp */
	ldr	x8, [x2, #8]		/* pages this period */
	ldr	x9, [x2, #16]		/* pattern */
	cbz	x8, 5f
2:	cbnz	x9, 3f
	mov	x10, x4			/* sequential: cursor, wrapping */
	add	x4, x4, #1
	cmp	x4, x1
	csel	x4, xzr, x4, hs
	b	4f
3:	eor	x5, x5, x5, lsl #13	/* random: xorshift64 mod pages */
	eor	x5, x5, x5, lsr #7
	eor	x5, x5, x5, lsl #17
	udiv	x11, x5, x1
	msub	x10, x11, x1, x5
4:	add	x12, x0, x10, lsl #12
	add	x6, x6, #1
	str	x7, [x12]
	str	x6, [x12, #8]
	subs	x8, x8, #1
	b.ne	2b
5:	str	x6, [x3]		/* period done: exit to the VMM */
	b	1b
kvmdirty_guest_code_end:
	.section .note.GNU-stack,"",%progbits
