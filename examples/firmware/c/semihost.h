/* Semihosting over `bkpt 0xAB` (QEMU: -semihosting-config enable=on,target=native). */
#ifndef WMF_FW_SEMIHOST_H
#define WMF_FW_SEMIHOST_H

/* Writes a NUL-terminated string to the host's stdout (":tt"). */
void sh_write0(const char *s);
/* Ends the emulation: QEMU exits with status 0 when `success`, 1 otherwise. */
__attribute__((noreturn)) void sh_exit(int success);

#endif
