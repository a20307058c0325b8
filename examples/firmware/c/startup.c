/*
 * Minimal Cortex-M4F startup for QEMU mps2-an386: vector table, reset handler
 * (copy .data, zero .bss, enable the FPU, call main) and semihosting
 * (SYS_OPEN ":tt", SYS_WRITE, SYS_EXIT through `bkpt 0xAB`; QEMU sends
 * writes to ":tt" to its stdout, as cortex-m-semihosting's hstdout does).
 */
#include <stdint.h>

#include "semihost.h"

extern uint32_t __data_start[], __data_end[], __data_load[];
extern uint32_t __bss_start[], __bss_end[], __stack_top[];

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);

/* The initial SP, then the 15 system exception handlers. */
struct vector_table {
    uint32_t *initial_sp;
    void (*handlers[15])(void);
};

__attribute__((section(".vector_table"), used))
static const struct vector_table vector_table = {
    __stack_top,
    {
        Reset_Handler,
        Fault_Handler, /* NMI */
        Fault_Handler, /* HardFault */
        Fault_Handler, /* MemManage */
        Fault_Handler, /* BusFault */
        Fault_Handler, /* UsageFault */
        0, 0, 0, 0,
        Fault_Handler, /* SVCall */
        Fault_Handler, /* DebugMonitor */
        0,
        Fault_Handler, /* PendSV */
        Fault_Handler, /* SysTick */
    },
};

void Reset_Handler(void)
{
    uint32_t *src = __data_load;
    for (uint32_t *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
    /* CPACR: full access to CP10 and CP11 (the FPU), before any float code. */
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    sh_exit(main() == 0);
}

void Fault_Handler(void)
{
    sh_write0("ERROR fault\n");
    sh_exit(0);
}

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_write0(const char *s)
{
    static int32_t handle = -1;
    if (handle < 0) {
        static const char tt[] = ":tt";
        const uint32_t open_args[3] = {(uint32_t)(uintptr_t)tt, 4u /* "w" */, 3u};
        handle = (int32_t)semihost(0x01u /* SYS_OPEN */, open_args);
        if (handle < 0) {
            return;
        }
    }
    uint32_t len = 0;
    while (s[len] != '\0') {
        len++;
    }
    const uint32_t write_args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)s, len};
    (void)semihost(0x05u /* SYS_WRITE */, write_args);
}

void sh_exit(int success)
{
    /* AArch32 SYS_EXIT takes the reason code itself: ApplicationExit is
     * status 0 for QEMU, RunTimeErrorUnknown status 1. */
    const uintptr_t reason = success ? 0x20026u : 0x20023u;
    (void)semihost(0x18u /* SYS_EXIT */, (const void *)reason);
    for (;;) {
        __asm__ volatile("bkpt 0");
    }
}
