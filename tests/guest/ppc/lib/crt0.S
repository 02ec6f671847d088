/*
 * Bare-metal start-up for QEMU's ppce500 board with an e500mc: the board enters at _start with
 * MSR = 0 and TLB1[0] mapping EA 0..64 MiB to PA 0. We map CCSR (PA 0xF_E000_0000) at EA
 * 0xE000_0000 (1 MiB, cache-inhibited, guarded) in TLB1[1], enable the FPU, point every
 * interrupt vector at a common handler, set up a stack, clear BSS and call main().
 */
#define MAS0 624
#define MAS1 625
#define MAS2 626
#define MAS3 627
#define MAS7 944
#define IVPR 63

    .section .text.start, "ax"
    .globl _start
_start:
    /* TLB1[1]: EA 0xE0000000 -> PA 0xF_E0000000, 1 MiB (TSIZE 10), V|IPROT, I|G, SR|SW. */
    lis     r3, 0x1001          /* TLBSEL 1, ESEL 1 */
    mtspr   MAS0, r3
    lis     r3, 0xc000          /* V | IPROT */
    ori     r3, r3, (10 << 7)
    mtspr   MAS1, r3
    lis     r3, 0xe000
    ori     r3, r3, 0x0a        /* I | G */
    mtspr   MAS2, r3
    lis     r3, 0xe000
    ori     r3, r3, 0x05        /* SR | SW */
    mtspr   MAS3, r3
    li      r3, 0xf
    mtspr   MAS7, r3
    isync
    tlbwe
    isync

    /* Interrupt vectors: IVPR = 0, every IVOR at its slot of the vector table. */
    lis     r3, ivec@h
    ori     r3, r3, ivec@l
    mtspr   IVPR, r3
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    li      r4, (\n * 0x100)
    mtspr   400+\n, r4
    .endr
    li      r4, 35 * 0x100 - 19 * 0x100
    mtspr   531, r4             /* IVOR35 -> slot 16 */
    li      r4, 17 * 0x100
    mtspr   532, r4             /* IVOR36 -> slot 17 */
    li      r4, 18 * 0x100
    mtspr   533, r4             /* IVOR37 -> slot 18 */

    /* MSR: FP on, machine check on. */
    li      r3, 0x3000
    mtmsr   r3
    isync

    /* Stack at the top of the first 16 MiB, BSS cleared. */
    lis     r1, 0x00ff
    ori     r1, r1, 0xff00
    lis     r3, __bss_start@h
    ori     r3, r3, __bss_start@l
    lis     r4, __bss_end@h
    ori     r4, r4, __bss_end@l
    li      r5, 0
1:  cmplw   r3, r4
    bge     2f
    stw     r5, 0(r3)
    addi    r3, r3, 4
    b       1b
2:  bl      main
    bl      poweroff
3:  b       3b

/*
 * Vector table: 19 slots of 256 bytes. Each saves r3-r5 in SPRG scratch registers, loads its
 * number and jumps to the common handler, which calls trap_handler(n, frame).
 */
    .align  16
ivec:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18
    .align  8
    mtspr   272, r3             /* SPRG0 */
    mtspr   273, r4             /* SPRG1 */
    li      r3, \n
    b       common_trap
    .endr

common_trap:
    /* Build a frame below the interrupted stack pointer and call C. */
    mr      r4, r1
    stwu    r1, -160(r1)
    stw     r4, 0(r1)
    mfspr   r4, 273
    stw     r4, 12(r1)          /* saved r4 */
    mfspr   r4, 272
    stw     r4, 8(r1)           /* saved r3 */
    mflr    r4
    stw     r4, 16(r1)
    mfctr   r4
    stw     r4, 20(r1)
    mfcr    r4
    stw     r4, 24(r1)
    mfxer   r4
    stw     r4, 28(r1)
    stmw    r5, 32(r1)          /* r5..r31 */
    mr      r4, r1
    bl      trap_handler
    lmw     r5, 32(r1)
    lwz     r4, 28(r1)
    mtxer   r4
    lwz     r4, 24(r1)
    mtcr    r4
    lwz     r4, 20(r1)
    mtctr   r4
    lwz     r4, 16(r1)
    mtlr    r4
    lwz     r3, 8(r1)
    lwz     r4, 12(r1)
    addi    r1, r1, 160
    rfi
    .section .note.GNU-stack,"",@progbits
