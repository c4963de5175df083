/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A faulty disk for partition log tests, bound through struct
 * tern_disk_ops: real files, but every write that has not been synced is
 * journaled with the bytes it replaced, so that a simulated crash can drop
 * or tear it (seeded, sector by sector), as SQLite's test6.c does. Writes,
 * syncs and file creation can be made to fail with a chosen errno or to
 * write short; syncs can be held back so a write stays in flight.
 */
#ifndef TERN_TESTS_FAULTY_DISK_H
#define TERN_TESTS_FAULTY_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

enum faulty_crash {
	FAULTY_CRASH_DROP, /* every unsynced write is lost */
	FAULTY_CRASH_TEAR, /* each 512-byte sector of them kept or lost */
};

struct faulty_disk;

struct faulty_disk *faulty_disk_create(uint64_t seed);
void faulty_disk_destroy(struct faulty_disk *d);
const struct tern_disk_ops *faulty_disk_ops(void);

/* The next write (data write of prep_write) fails with err (< 0). */
void faulty_disk_fail_write(struct faulty_disk *d, int err);
/*
 * The -ECANCELED completion of a sync linked behind a failed write comes
 * before the write's own (io_uring does not order them).
 */
void faulty_disk_cancel_first(struct faulty_disk *d, bool first);
/* The next write writes only half of its blocks and reports it. */
void faulty_disk_short_write(struct faulty_disk *d);
/*
 * The next sync (linked behind a write, or a synchronous one) fails with
 * err (< 0); its write stays unsynced.
 */
void faulty_disk_fail_sync(struct faulty_disk *d, int err);
/* The next allocate (segment creation) fails with err. */
void faulty_disk_fail_allocate(struct faulty_disk *d, int err);
/* Every submit fails with err (< 0; 0 repairs): a broken ring. */
void faulty_disk_fail_submit(struct faulty_disk *d, int err);
/* Syncs complete only once released (writes land, stay unsynced). */
void faulty_disk_hold_syncs(struct faulty_disk *d, bool hold);
/* open reports that O_DIRECT was refused (as tmpfs used to). */
void faulty_disk_refuse_direct(struct faulty_disk *d, bool refuse);
/*
 * Loses or tears every unsynced write, then fails every later mutating
 * operation with -EIO (the process is "dead") until faulty_disk_revive.
 */
void faulty_disk_crash(struct faulty_disk *d, enum faulty_crash how);
void faulty_disk_revive(struct faulty_disk *d);
unsigned faulty_disk_unsynced(const struct faulty_disk *d);

#endif /* TERN_TESTS_FAULTY_DISK_H */
