/*
 * nofsync.c - an LD_PRELOAD shim for one bench figure only: fsync and
 * fdatasync return success without syncing, so the same ecred-issuerd binary
 * can be measured with and without the cost of durable commits. The
 * difference is what durability costs per approval.
 *
 * Must never: be loaded into anything but a benchmark daemon on a scratch
 * data directory (it throws away the crash-safety the registry promises).
 */
#include <unistd.h>

/* Pretend the data reached the disk; the caller's data stays in the page cache. */
int fsync(int fd)
{
    (void)fd;
    return 0;
}

/* As fsync. SQLite on Linux syncs the WAL with fdatasync. */
int fdatasync(int fd)
{
    (void)fd;
    return 0;
}
